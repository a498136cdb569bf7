"""``Verdict``: what the classifier says about one image, with everything needed to
explain it later (scores, matched prompts, model identity, concept version)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Verdict:
    labels: tuple[str, ...]  # sorted: csam, underage, nsfw, anime and custom concepts that fired
    scores: dict[str, float]  # margin = rounded similarity - threshold; > 0 means the label fired
    prompt_scores: dict[
        str, float
    ]  # every prompt's similarity rounded to 4 decimals (largest over the regions)
    matched: dict[str, tuple[str, ...]]  # family -> prompts that crossed their threshold
    model: str  # "ViT-L-14/openai", "modbot-tiny/random-weights"
    random_weights: bool
    concept_version: str
    unreadable: str | None = None  # why the image could not be decoded; then no scores
    regions: int = 0  # frames x tiles examined
    sha256: str = ""
    # DeepDanbooru, the anime second pass: "ran", "not_needed" (CLIP did not call the
    # image anime), "off" (anime, but it did not run: no weights, or Pillow could not
    # make the reference's 512 px image); None if unreadable
    deepdanbooru: str | None = None
    danbooru: dict[str, float] = field(
        default_factory=dict
    )  # its ratings and tags above 0.5, rounded

    @property
    def flagged(self) -> bool:
        return bool(self.labels)

    def top_scores(self, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` highest scores, highest first."""
        return sorted(self.scores.items(), key=lambda kv: kv[1], reverse=True)[:n]

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "scores": dict(self.scores),
            "prompt_scores": dict(self.prompt_scores),
            "matched": {k: list(v) for k, v in self.matched.items()},
            "model": self.model,
            "random_weights": self.random_weights,
            "concept_version": self.concept_version,
            "unreadable": self.unreadable,
            "regions": self.regions,
            "sha256": self.sha256,
            "deepdanbooru": self.deepdanbooru,
            "danbooru": dict(self.danbooru),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        return cls(
            labels=tuple(data["labels"]),
            scores={k: float(v) for k, v in data["scores"].items()},
            prompt_scores={k: float(v) for k, v in data.get("prompt_scores", {}).items()},
            matched={k: tuple(v) for k, v in data.get("matched", {}).items()},
            model=data["model"],
            random_weights=bool(data["random_weights"]),
            concept_version=data["concept_version"],
            unreadable=data.get("unreadable"),
            regions=int(data.get("regions", 0)),
            sha256=data.get("sha256", ""),
            deepdanbooru=data.get("deepdanbooru"),
            danbooru={k: float(v) for k, v in (data.get("danbooru") or {}).items()},
        )
