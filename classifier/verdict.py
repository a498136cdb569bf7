"""``Verdict``: what the classifier says about one image, with everything needed to
explain it later (scores, matched prompts, model identity, concept version)."""

from __future__ import annotations

import math
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
    # why the image could not be decoded; then no scores, unless a label fired on its
    # first frame (a file refused for a later frame: that frame alone was read)
    unreadable: str | None = None
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
        """A verdict from ``to_dict``'s form (a worker's answer). Raises ``ValueError``
        or ``TypeError`` unless every field has its type: a label is a string, a score
        a finite number (not a string, a boolean, NaN or infinity), and every label has
        a score > 0, so that a broken or foreign answer is refused, never read as
        letters (``"csam"`` -> c, s, a, m) or a boolean as a margin of 1.0."""
        if not isinstance(data, dict):
            raise TypeError(f"a verdict is a JSON object, not {type(data).__name__}")
        missing = [k for k in _REQUIRED if k not in data]
        if missing:  # said by name: a bare KeyError reads as "('labels')"
            raise ValueError(", ".join(f"{k}: missing" for k in missing))
        labels = _strings("labels", data["labels"])
        scores = _numbers("scores", data["scores"])
        for label in labels:
            if not scores.get(label, 0.0) > 0:
                raise ValueError(f"label {label!r} has no score above 0")
        matched = data.get("matched", {})
        if not isinstance(matched, dict):
            raise TypeError("matched: must be an object of lists of prompts")
        regions = data.get("regions", 0)
        if isinstance(regions, bool) or not isinstance(regions, int) or regions < 0:
            raise ValueError(f"regions: must be a whole number >= 0, got {regions!r}")
        random_weights = data["random_weights"]
        if not isinstance(random_weights, bool):
            raise TypeError(f"random_weights: must be true or false, got {random_weights!r}")
        return cls(
            labels=labels,
            scores=scores,
            prompt_scores=_numbers("prompt_scores", data.get("prompt_scores", {})),
            matched={
                _string("matched", k): _strings(f"matched[{k!r}]", v) for k, v in matched.items()
            },
            model=_string("model", data["model"]),
            random_weights=random_weights,
            concept_version=_string("concept_version", data["concept_version"]),
            unreadable=_optional_string("unreadable", data.get("unreadable")),
            regions=regions,
            sha256=_string("sha256", data.get("sha256", "")),
            deepdanbooru=_optional_string("deepdanbooru", data.get("deepdanbooru")),
            danbooru=_numbers("danbooru", data.get("danbooru") or {}),
        )


_REQUIRED = ("labels", "scores", "model", "random_weights", "concept_version")


def _string(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{where}: must be a string, got {value!r:.80}")
    return value


def _optional_string(where: str, value: Any) -> str | None:
    return None if value is None else _string(where, value)


def _strings(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError(f"{where}: must be a list of strings, got {value!r:.80}")
    return tuple(_string(where, v) for v in value)


def _numbers(where: str, value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise TypeError(f"{where}: must be an object of numbers, got {value!r:.80}")
    out = {}
    for key, number in value.items():
        if (
            isinstance(number, bool)
            or not isinstance(number, (int, float))
            or not math.isfinite(number)
        ):
            raise ValueError(f"{where}[{key!r}]: must be a finite number, got {number!r:.80}")
        out[_string(where, key)] = float(number)
    return out
