"""The reference decision (horde-safety's NSFWChecker) from one similarity vector.

Every label comes with a score that is a *margin*: >= 0 exactly when the label fires, so
a report can show how close an image came. For one region (frame or tile):

- anime: some anime prompt reaches its threshold, unless every anime similarity is below
  ``anime_below`` and some predicate prompt containing "photo" is above ``photo_above``;
- subject: some prompt of the subject families (every predicate family: human, underage
  at its base, NSFW and anime predicates) reaches its threshold, or some underage prompt
  its danger threshold;
- nsfw: subject AND some NSFW concept reaches its threshold (anime images: only the
  anime override concepts);
- underage: some underage prompt reaches its danger threshold; else a second pass with
  thresholds moved from base toward danger by a factor (photo-like / anime) finds at
  least ``min_distinct_hits`` distinct hits (a bare singular/plural pair counts once);
- csam: underage AND nsfw;
- each custom concept: some of its prompts reaches its threshold.

An image with several regions gets, per score, the worst (largest) region's value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from classifier.concepts import ConceptSet, Prompt

PREDICATE_FAMILIES = ("subject", "underage", "nsfw_predicates", "anime")


@dataclass(frozen=True)
class Decision:
    labels: tuple[str, ...]
    scores: dict[str, float]
    matched: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class _Rows:
    """Prompts of one check: their indices in the similarity vector and thresholds."""

    idx: np.ndarray
    thr: np.ndarray
    texts: tuple[str, ...]
    groups: np.ndarray | None = None  # second pass: distinct-hit group of each prompt
    n_groups: int = 0

    @classmethod
    def of(cls, concepts: ConceptSet, prompts: list[Prompt], thresholds: list[float], groups=None):
        idx = np.array([concepts.index[p.text] for p in prompts], dtype=np.int64)
        thr = np.array(thresholds, dtype=np.float64)
        if groups is None:
            return cls(idx, thr, tuple(p.text for p in prompts))
        keys = list(dict.fromkeys(groups))
        g = np.array([keys.index(k) for k in groups], dtype=np.int64)
        return cls(idx, thr, tuple(p.text for p in prompts), g, len(keys))

    def margins(self, sims: np.ndarray) -> np.ndarray:
        return sims[self.idx] - self.thr

    def hits(self, margins: np.ndarray) -> tuple[str, ...]:
        return tuple(t for t, m in zip(self.texts, margins) if m >= 0)


class DecisionPlan:
    """A concept set compiled to index arrays, deciding one similarity vector at a time."""

    def __init__(self, concepts: ConceptSet):
        self.concepts = concepts
        fam, d = concepts.families, concepts.decision
        self.params = d
        self.anime = _Rows.of(concepts, list(fam["anime"]), [p.threshold for p in fam["anime"]])
        photo = [
            p for f in PREDICATE_FAMILIES for p in fam[f] if d.photo_word.lower() in p.text.lower()
        ]
        self.photo_idx = np.array(sorted({concepts.index[p.text] for p in photo}), dtype=np.int64)
        subject = [p for f in d.subject_families for p in fam[f]]
        underage = list(fam["underage"])
        self.subject = _Rows.of(
            concepts, subject + underage, [p.threshold for p in subject] + [p.danger for p in underage]
        )
        self.nsfw = _Rows.of(concepts, list(fam["nsfw_concepts"]), [p.threshold for p in fam["nsfw_concepts"]])
        anime_nsfw = list(fam["anime_nsfw_concepts"])
        self.anime_nsfw = _Rows.of(concepts, anime_nsfw, [p.threshold for p in anime_nsfw])
        self.danger = _Rows.of(concepts, underage, [p.danger for p in underage])
        canonical = {plural: singular for singular, plural in d.pairs}

        def group(p: Prompt) -> str:
            # the reference pairs the bare words only: 'photo of child' and 'photo of
            # children' are two distinct hits
            return canonical.get(p.text, p.text)

        def moved(p: Prompt, factor: float) -> float:
            return p.threshold + factor * (p.danger - p.threshold)

        self.second_photo = _Rows.of(
            concepts, underage, [moved(p, d.photo_factor) for p in underage], [group(p) for p in underage]
        )
        bare = [p for p in underage if p.bare and p.text not in d.anime_skip_prompts]
        extra = [p for p in fam["subject"] if p.bare and p.text in d.anime_extra_subject_prompts]
        self.second_anime = _Rows.of(
            concepts,
            bare + extra,
            [moved(p, d.anime_factor) for p in bare] + [p.threshold for p in extra],
            [group(p) for p in bare + extra],
        )
        self.custom = [
            (c.name, _Rows.of(concepts, [Prompt(c.name, t, c.threshold) for t in c.prompts], [c.threshold] * len(c.prompts)))
            for c in concepts.custom
        ]

    def decide(self, sims: np.ndarray) -> Decision:
        """Decide one region from its similarity vector (aligned with ``concepts.prompts``)."""
        sims = np.asarray(sims, dtype=np.float64)
        d = self.params
        matched: dict[str, tuple[str, ...]] = {}

        anime_m = self.anime.margins(sims)
        anime_score = float(anime_m.max())
        if anime_score >= 0:
            # revoked when every anime similarity is below anime_below and a photo prompt is strong
            keep = float(sims[self.anime.idx].max()) - d.anime_below
            if self.photo_idx.size:
                keep = max(keep, d.photo_above - float(sims[self.photo_idx].max()))
            anime_score = min(anime_score, keep)
        anime = anime_score >= 0
        if anime:
            matched["anime"] = self.anime.hits(anime_m)

        subject_m = self.subject.margins(sims)
        subject_score = float(subject_m.max())
        matched["subject"] = tuple(dict.fromkeys(self.subject.hits(subject_m)))  # underage: base and danger

        nsfw_rows = self.anime_nsfw if anime else self.nsfw
        nsfw_m = nsfw_rows.margins(sims)
        nsfw_score = min(subject_score, float(nsfw_m.max()))
        matched["nsfw"] = nsfw_rows.hits(nsfw_m)

        danger_m = self.danger.margins(sims)
        first = float(danger_m.max())
        second_rows = self.second_anime if anime else self.second_photo
        second_m = second_rows.margins(sims)
        best = np.full(second_rows.n_groups, -np.inf)
        np.maximum.at(best, second_rows.groups, second_m)
        best.sort()
        k = d.min_distinct_hits
        second = float(best[-k]) if best.size >= k else -1.0
        underage_score = max(first, second)
        matched["underage"] = self.danger.hits(danger_m) if first >= 0 else second_rows.hits(second_m)

        scores = {
            "subject": subject_score,
            "underage": underage_score,
            "nsfw": nsfw_score,
            "anime": anime_score,
            "csam": min(underage_score, nsfw_score),
        }
        for name, rows in self.custom:
            m = rows.margins(sims)
            scores[name] = float(m.max())
            matched[name] = rows.hits(m)
        labels = tuple(sorted(name for name, s in scores.items() if s >= 0 and name != "subject"))
        return Decision(labels, scores, {k: v for k, v in matched.items() if v})


def combine(decisions: list[Decision]) -> Decision:
    """The verdict of several regions: per score the worst region, labels and matches of all."""
    scores = {k: max(d.scores[k] for d in decisions) for k in decisions[0].scores}
    labels = tuple(sorted({label for d in decisions for label in d.labels}))
    matched: dict[str, tuple[str, ...]] = {}
    for d in decisions:
        for family, texts in d.matched.items():
            matched[family] = tuple(dict.fromkeys(matched.get(family, ()) + texts))
    return Decision(labels, scores, matched)
