"""The reference decision (horde-safety's ``NSFWChecker.check_for_nsfw``, 0.3.1 / ebea47a)
from one similarity vector, and from DeepDanbooru's output on anime images.

As in the reference, every similarity is first rounded to 4 decimals
(``round(float(v), 4)``) and a prompt fires when it is *strictly* above its threshold.
For one region (frame or tile):

- anime: some anime prompt is above its threshold, unless every matching anime score is
  below ``anime_below`` and some predicate prompt containing "photo" is above
  ``photo_above``; DeepDanbooru's ``realistic`` tag (when it ran) turns it off again;
- subject: some predicate (human, underage at its base, NSFW predicate, anime) is above
  its threshold, or some underage prompt above its danger threshold;
- nsfw: DeepDanbooru calls the image NSFW (anime images, when it ran), or subject AND some
  NSFW concept above its threshold (anime images: only the anime override concepts);
- underage: some underage prompt above its danger threshold; else a second pass with
  thresholds moved from base toward danger by a factor (photo-like / anime) finds at
  least ``min_distinct_hits`` distinct hits (a bare singular/plural pair counts once);
- csam: underage AND nsfw;
- each custom concept: some of its prompts is above its threshold.

Every label comes with a score that is a *margin* (rounded similarity minus threshold
for one prompt; for a label, the margin of the test that decides it): a label fired
exactly when its score is **> 0**, so a report can show how close an image came. An
image with several regions gets, per score, the worst (largest) region's value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from classifier.concepts import ConceptSet, Prompt

PREDICATE_FAMILIES = ("subject", "underage", "nsfw_predicates", "anime")

# DeepDanbooru as the reference reads it (NSFWAnimeScores, check_for_nsfw_anime_only).
DANBOORU_KEEP = 0.5  # tags above this are kept (tag_results)
DANBOORU_NSFW_TAGS = {"bikini": 0.6}  # tags that make an image NSFW above their threshold
RATING_SAFE, RATING_QUESTIONABLE, RATING_EXPLICIT = (
    "rating:safe",
    "rating:questionable",
    "rating:explicit",
)
EXPLICIT_ABOVE = 0.125
QUESTIONABLE_ABOVE, QUESTIONABLE_SAFE_BELOW = 0.185, 0.93
SAFE_BELOW = 0.5
REALISTIC = "realistic"
# DANBOORU_SCORES (concepts.py): the names DeepDanbooru adds to a verdict when it ran
# (margins, > 0: the test holds); and for each tag it keeps:
DANBOORU_TAG_PREFIX = "danbooru:"  # + a kept tag: its probability - 0.5


def round4(values: Any) -> np.ndarray:
    """The reference's rounding, element by element (``np.round`` rounds differently)."""
    return np.array(
        [round(v, 4) for v in np.asarray(values, dtype=np.float64).tolist()], dtype=np.float64
    )


@dataclass(frozen=True)
class Danbooru:
    """DeepDanbooru's output on one image, reduced as the reference reduces it."""

    tags: dict[str, float]  # tags above 0.5, probability rounded to 4 decimals
    ratings: dict[
        str, float
    ]  # rating:safe/questionable/explicit rounded (0.0 if the model lacks one)
    nsfw_tags: tuple[str, ...]  # NSFW tags above their own threshold (bikini > 0.6)
    scores: dict[str, float]  # DANBOORU_SCORES and danbooru:<tag>, margins (> 0: holds)

    @property
    def nsfw(self) -> bool:
        """DeepDanbooru alone calls the image NSFW (the reference's ``is_anime_nsfw``)."""
        return self.scores["danbooru_nsfw"] > 0

    @property
    def realistic(self) -> bool:
        return REALISTIC in self.tags

    @classmethod
    def from_probabilities(cls, probabilities: Sequence, tags: Sequence[str]) -> Danbooru:
        """From the model's output vector (one probability per tag, in the model's tag
        order). Each probability is compared in its own type, as the reference's
        ``p > threshold`` on a numpy scalar is."""
        ratings = {RATING_SAFE: 0.0, RATING_QUESTIONABLE: 0.0, RATING_EXPLICIT: 0.0}
        kept: dict[str, float] = {}
        nsfw_tags: list[str] = []
        tag_margins: list[float] = []
        realistic = None
        for i, p in enumerate(probabilities):
            if i >= len(tags):
                break
            name = tags[i]
            if name in ratings:
                ratings[name] = round(float(p), 4)
            elif name in DANBOORU_NSFW_TAGS:
                margin = _margin(p, DANBOORU_NSFW_TAGS[name])
                tag_margins.append(margin)
                if margin > 0:
                    nsfw_tags.append(name)
            if name == REALISTIC:
                realistic = _margin(p, DANBOORU_KEEP)
            if _margin(p, DANBOORU_KEEP) > 0:
                kept[name] = round(float(p), 4)
        safe, questionable, explicit = (
            ratings[RATING_SAFE],
            ratings[RATING_QUESTIONABLE],
            ratings[RATING_EXPLICIT],
        )
        scores = {
            "danbooru_explicit": explicit - EXPLICIT_ABOVE,
            "danbooru_questionable": min(
                questionable - QUESTIONABLE_ABOVE, QUESTIONABLE_SAFE_BELOW - safe
            ),
            "danbooru_unsafe": SAFE_BELOW - safe,
        }
        scores["danbooru_nsfw"] = max([*tag_margins, *scores.values()])
        if realistic is not None:
            scores["danbooru_realistic"] = realistic
        for name, p in kept.items():
            if name not in ratings:
                scores[DANBOORU_TAG_PREFIX + name] = p - DANBOORU_KEEP
        return cls(kept, ratings, tuple(nsfw_tags), scores)


def _underage(value: float | None) -> float:
    """An underage prompt's danger threshold or modifier (every underage prompt has both)."""
    if value is None:
        raise ValueError("not an underage prompt: it has no danger threshold or modifier")
    return value


def _margin(p: float | np.generic, threshold: float) -> float:
    """``p - threshold`` whose sign is that of the reference's ``p > threshold``: a numpy
    scalar compares in its own precision (float32 model outputs against float32(0.6))."""
    if isinstance(p, np.generic):
        return float(p) - float(p.dtype.type(threshold))
    return float(p) - threshold


@dataclass(frozen=True)
class Decision:
    labels: tuple[str, ...]
    scores: dict[str, float]
    matched: dict[str, tuple[str, ...]]
    # DeepDanbooru's input to this decision, when it ran and the region was anime for CLIP
    danbooru_used: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class _Rows:
    """Prompts of one check: their indices in the similarity vector and thresholds."""

    idx: np.ndarray
    thr: np.ndarray
    texts: tuple[str, ...]
    groups: np.ndarray | None = None  # second pass: distinct-hit group of each prompt
    n_groups: int = 0
    keep_first: np.ndarray | None = (
        None  # second pass: prompt wins its pair on a strictly larger score
    )

    @classmethod
    def of(
        cls,
        concepts: ConceptSet,
        prompts: list[Prompt],
        thresholds: list[float],
        groups: list[str] | None = None,
        first: list[bool] | None = None,
    ) -> _Rows:
        idx = np.array([concepts.index[p.text] for p in prompts], dtype=np.int64)
        thr = np.array(thresholds, dtype=np.float64)
        if groups is None:
            return cls(idx, thr, tuple(p.text for p in prompts))
        keys = list(dict.fromkeys(groups))
        g = np.array([keys.index(k) for k in groups], dtype=np.int64)
        return cls(
            idx, thr, tuple(p.text for p in prompts), g, len(keys), np.array(first, dtype=bool)
        )

    def margins(self, sims: np.ndarray) -> np.ndarray:
        return sims[self.idx] - self.thr

    def hits(self, margins: np.ndarray) -> tuple[str, ...]:
        return tuple(t for t, m in zip(self.texts, margins) if m > 0)


class DecisionPlan:
    """A concept set compiled to index arrays, deciding one similarity vector at a time."""

    def __init__(self, concepts: ConceptSet):
        self.concepts = concepts
        fam, d = concepts.families, concepts.decision
        self.params = d
        self.anime = _Rows.of(concepts, list(fam["anime"]), [p.threshold for p in fam["anime"]])
        # the reference looks for "photo" (case as written) in every predicate's text
        photo = [p for f in PREDICATE_FAMILIES for p in fam[f] if d.photo_word in p.text]
        self.photo_idx = np.array(sorted({concepts.index[p.text] for p in photo}), dtype=np.int64)
        predicates = [p for f in d.subject_families for p in fam[f]]
        self.predicates = _Rows.of(concepts, predicates, [p.threshold for p in predicates])
        underage = list(fam["underage"])
        self.nsfw = _Rows.of(
            concepts, list(fam["nsfw_concepts"]), [p.threshold for p in fam["nsfw_concepts"]]
        )
        anime_nsfw = list(fam["anime_nsfw_concepts"])
        self.anime_nsfw = _Rows.of(concepts, anime_nsfw, [p.threshold for p in anime_nsfw])
        self.danger = _Rows.of(concepts, underage, [_underage(p.danger) for p in underage])
        canonical = {plural: singular for singular, plural in d.pairs}
        singulars = {singular for singular, _ in d.pairs}

        def group(p: Prompt) -> str:
            # the reference pairs the bare words only: 'photo of child' and 'photo of
            # children' are two distinct hits
            return canonical.get(p.text, p.text)

        def first(p: Prompt) -> bool:
            # of a pair that both hit, the reference keeps the singular only when its
            # score is strictly larger (on a tie it keeps the plural)
            return p.text in singulars

        photo_factor, anime_factor = d.photo_factor, d.anime_factor
        # reference: base + ((danger - base) * 0.4) over the prefixed and bare prompts ...
        self.second_photo = _Rows.of(
            concepts,
            underage,
            [p.threshold + ((_underage(p.danger) - p.threshold) * photo_factor) for p in underage],
            [group(p) for p in underage],
            [first(p) for p in underage],
        )
        # ... and base + (modifier * 0.05) over the bare ones, plus teen/teens as they are
        bare = [p for p in underage if p.bare and p.text not in d.anime_skip_prompts]
        extra = [p for p in fam["subject"] if p.bare and p.text in d.anime_extra_subject_prompts]
        self.second_anime = _Rows.of(
            concepts,
            bare + extra,
            [p.threshold + (_underage(p.modifier) * anime_factor) for p in bare]
            + [p.threshold + 0.0 for p in extra],
            [group(p) for p in bare + extra],
            [first(p) for p in bare + extra],
        )
        self.custom = [
            (
                c.name,
                _Rows.of(
                    concepts,
                    [Prompt(c.name, t, c.threshold) for t in c.prompts],
                    [c.threshold] * len(c.prompts),
                ),
            )
            for c in concepts.custom
        ]

    def clip_anime(self, sims: np.ndarray) -> bool:
        """Whether CLIP calls the region anime (before DeepDanbooru): the images the
        reference hands to DeepDanbooru."""
        return self._anime(round4(sims))[0] > 0

    def _anime(self, r: np.ndarray) -> tuple[float, tuple[str, ...]]:
        d = self.params
        margins = self.anime.margins(r)
        score = float(margins.max())
        hits = margins > 0
        if not hits.any():
            return score, ()
        # revoked when every matching anime score is below anime_below and some photo
        # prompt is above photo_above; keep < 0 exactly when revoked
        keep = float(r[self.anime.idx][hits].max()) - d.anime_below
        if self.photo_idx.size:
            keep = max(keep, d.photo_above - float(r[self.photo_idx].max()))
        if keep < 0:
            return min(score, keep), ()
        return score, self.anime.hits(margins)

    def decide(self, sims: np.ndarray, danbooru: Danbooru | None = None) -> Decision:
        """Decide one region from its similarity vector (aligned with ``concepts.prompts``);
        ``danbooru`` is DeepDanbooru's result on the image, used when CLIP calls it anime."""
        r = round4(sims)
        matched: dict[str, tuple[str, ...]] = {}

        anime_score, anime_hits = self._anime(r)
        used = danbooru is not None and anime_score > 0
        ran = danbooru if used else None  # DeepDanbooru's result, when it counts
        danbooru_nsfw = ran is not None and ran.nsfw
        if ran is not None and ran.realistic:  # DeepDanbooru sends it back to the photo rules
            anime_score = min(anime_score, -ran.scores["danbooru_realistic"])
        anime = anime_score > 0
        if anime:
            matched["anime"] = anime_hits

        predicate_m = self.predicates.margins(r)
        danger_m = self.danger.margins(r)
        subject_score = max(float(predicate_m.max()), float(danger_m.max()))
        matched["subject"] = self.predicates.hits(predicate_m)

        nsfw_rows = self.anime_nsfw if anime else self.nsfw
        nsfw_m = nsfw_rows.margins(r)
        nsfw_score = min(subject_score, float(nsfw_m.max()))
        if ran is not None:
            nsfw_score = max(nsfw_score, ran.scores["danbooru_nsfw"])
        if not danbooru_nsfw and subject_score > 0:  # the reference checks concepts only then
            matched["nsfw"] = nsfw_rows.hits(nsfw_m)

        first = float(danger_m.max())
        second_rows = self.second_anime if anime else self.second_photo
        second_m = second_rows.margins(r)
        assert second_rows.groups is not None  # second-pass rows have their groups
        best = np.full(second_rows.n_groups, -np.inf)
        np.maximum.at(best, second_rows.groups, second_m)
        best.sort()
        k = self.params.min_distinct_hits
        second = float(best[-k]) if best.size >= k else -1.0
        underage_score = max(first, second)
        if first > 0:
            matched["underage"] = self.danger.hits(danger_m)
        else:
            matched["underage"] = _one_per_pair(second_rows, second_m, r)

        scores = {
            "subject": subject_score,
            "underage": underage_score,
            "nsfw": nsfw_score,
            "anime": anime_score,
            "csam": min(underage_score, nsfw_score),
        }
        for name, rows in self.custom:
            m = rows.margins(r)
            scores[name] = float(m.max())
            matched[name] = rows.hits(m)
        labels = tuple(sorted(name for name, s in scores.items() if s > 0 and name != "subject"))
        return Decision(labels, scores, {k: v for k, v in matched.items() if v}, used)


def _one_per_pair(rows: _Rows, margins: np.ndarray, r: np.ndarray) -> tuple[str, ...]:
    """Second-pass hits with one prompt kept per pair, as the reference keeps them."""
    hits = [i for i, m in enumerate(margins) if m > 0]
    assert rows.groups is not None and rows.keep_first is not None  # second-pass rows
    out = []
    for i in hits:
        rival = [j for j in hits if j != i and rows.groups[j] == rows.groups[i]]
        if rival:
            j = rival[0]
            score_i, score_j = r[rows.idx[i]], r[rows.idx[j]]
            if rows.keep_first[i]:
                if not score_i > score_j:
                    continue
            elif score_j > score_i:
                continue
        out.append(rows.texts[i])
    return tuple(out)


def combine(decisions: list[Decision]) -> Decision:
    """The verdict of several regions: per score the worst region, labels and matches of all."""
    scores = {k: max(d.scores[k] for d in decisions) for k in decisions[0].scores}
    labels = tuple(sorted({label for d in decisions for label in d.labels}))
    matched: dict[str, tuple[str, ...]] = {}
    for d in decisions:
        for family, texts in d.matched.items():
            matched[family] = tuple(dict.fromkeys(matched.get(family, ()) + texts))
    return Decision(labels, scores, matched, any(d.danbooru_used for d in decisions))
