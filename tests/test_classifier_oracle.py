"""The reference's own code as the test oracle: horde-safety 0.3.1 (the package whose
``nsfw_checker_class.py`` is byte-identical to the GitHub source at ebea47a, the check
fedi-safety and pictrs-safety run), ``NSFWChecker.check_for_nsfw`` unchanged.

Its interrogator is built without its constructor (so BLIP never loads) and answers
``similarities()`` with chosen values; its DeepDanbooru model is a stub that answers
chosen probabilities. Both decision functions get the same numbers, drawn near every
threshold, and every field of the reference's result must agree with modbot's decision.
"""

from __future__ import annotations

import warnings

import numpy as np
import PIL.Image
import pytest

from classifier.compat import import_open_clip

import_open_clip()  # torchvision's ops shim, before horde_safety imports open_clip

from clip_interrogator import Interrogator  # noqa: E402  (test dependency: the [test] extra)
from horde_safety.nsfw_checker_class import NSFWChecker  # noqa: E402
from loguru import logger  # noqa: E402

from classifier.concepts import ConceptSet  # noqa: E402
from classifier.decision import (  # noqa: E402
    DANBOORU_NSFW_TAGS,
    RATING_EXPLICIT,
    RATING_QUESTIONABLE,
    RATING_SAFE,
    REALISTIC,
    Danbooru,
    DecisionPlan,
    round4,
)

logger.disable("horde_safety")

CONCEPTS = ConceptSet.builtin()
PLAN = DecisionPlan(CONCEPTS)
DRAWS = 10_000
TAGS = [
    RATING_SAFE,
    RATING_QUESTIONABLE,
    RATING_EXPLICIT,
    "bikini",
    REALISTIC,
    "1girl",
    "solo",
    "swimsuit",
    "smile",
]
IMAGE = PIL.Image.new(
    "RGB", (40, 30)
)  # the stub model ignores pixels; the reference resizes it anyway


def stub_interrogator(values: dict[str, float]) -> Interrogator:
    """The reference's interrogator, answering chosen values from ``values``."""
    ci = Interrogator.__new__(Interrogator)  # no __init__: no BLIP, no CLIP download
    ci.image_to_features = lambda image: None
    ci.similarities = lambda image_features, text_array: [values[t] for t in text_array]
    return ci


class StubDanbooru:
    """The reference's DeepDanbooru model: ``tags`` and ``evaluate_tensor``."""

    def __init__(self, probabilities: np.ndarray):
        self.tags = TAGS
        self.probabilities = probabilities
        self.calls = 0

    def evaluate_tensor(self, tensor):
        self.calls += 1
        return self.probabilities


VALUES: dict[str, float] = {}  # what the stub interrogator answers now
CHECKER = NSFWChecker(stub_interrogator(VALUES), None)


def reference(sims: np.ndarray, probabilities: np.ndarray | None):
    VALUES.clear()
    VALUES.update((t, float(v)) for t, v in zip(PROMPTS, sims))
    dd = None if probabilities is None else StubDanbooru(probabilities)
    checker = CHECKER
    checker.deep_danbooru_model = dd
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = checker.check_for_nsfw(IMAGE, prompt="", model_info={"nsfw": True, "tags": []})
    return result, dd


# -- the draws ------------------------------------------------------------------------------
# Where to draw comes from the reference's own prompts and thresholds (read from its
# checker), so a prompt or a threshold modbot lost is still drawn near.


def reference_thresholds() -> dict[str, list[float]]:
    """Every threshold the reference compares a prompt with, by prompt text."""
    c = CHECKER
    danger = c._combined_underage_danger_concepts
    sources = [
        c.all_predicates,
        danger,
        c.all_nsfw_concepts,
        {t: v for t, v in c.nsfw_post_anime_concepts.items() if t in c.all_nsfw_concepts},
        # the second passes: photo-like base + (danger - base) * 0.4, anime base + modifier * 0.05
        {t: b + ((danger[t] - b) * 0.4) for t, b in c._combined_underage_predicates.items()},
        {t: b + c.underage_danger_modifiers[t] * 0.05 for t, b in c.underage_predicates.items()},
    ]
    out: dict[str, list[float]] = {}
    for source in sources:
        for text, value in source.items():
            out.setdefault(text, []).append(value)
    for text in c.anime_cartoon_predicates:
        out[text].append(0.208)  # the revocation: every matching anime score below 0.208 ...
    for text in c.all_predicates:
        if "photo" in text:
            out[text].append(0.24)  # ... and some photo prompt above 0.24
    return out


THRESHOLDS = reference_thresholds()
PROMPTS = list(
    dict.fromkeys([*CHECKER.all_predicates, *CHECKER.all_nsfw_concepts])
)  # the reference's
SLOT = {t: i for i, t in enumerate(PROMPTS)}
FAMILY = {
    "anime": list(CHECKER.anime_cartoon_predicates),
    "photo": [t for t in CHECKER.all_predicates if "photo" in t],
    "subject": list(CHECKER.all_human_predicates) + list(CHECKER._nsfw_combined_predicates),
    "underage": list(CHECKER._combined_underage_danger_concepts),
    "nsfw": list(CHECKER.all_nsfw_concepts),
    "synthetic": list(CHECKER.nsfw_synth_concepts),
    "anime_nsfw": [t for t in CHECKER.nsfw_post_anime_concepts if t in CHECKER.all_nsfw_concepts],
    "pairs": [t for pair in CONCEPTS.decision.pairs for t in pair],
    "lolicon": ["lolicon"],
}
PARTNER = {a: b for pair in CONCEPTS.decision.pairs for a, b in (pair, pair[::-1])}
REGIMES = {  # which families get near-threshold values, and how many prompts of each
    "photo": {"subject": 3, "nsfw": 4, "synthetic": 2, "underage": 3, "photo": 1},
    "anime": {"anime": 3, "photo": 2, "subject": 2, "anime_nsfw": 3, "underage": 3, "pairs": 2},
    "pair": {"pairs": 6, "subject": 2, "nsfw": 2, "underage": 2},
    "lolicon": {"lolicon": 1, "anime": 2, "pairs": 2, "subject": 1, "anime_nsfw": 2, "nsfw": 1},
    "synthetic": {"synthetic": 3, "subject": 2, "anime": 1, "underage": 2},
}


OFFSETS = np.array([0.0, 5e-5, -5e-5, 1e-4, -1e-4])


def near(rng: np.random.Generator, threshold: float) -> float:
    """A value at, around or across the threshold, where rounding and ties decide."""
    kind = rng.integers(5)
    if kind == 0:
        return threshold  # a tie after rounding: strict comparison says no
    if kind == 1:
        return threshold + OFFSETS[rng.integers(1, 5)]  # the rounding boundary, one step off
    if kind == 2:
        return threshold + (1 if rng.random() < 0.5 else -1) * (4e-5 + 2e-5 * rng.random())
    if kind == 3:
        return threshold + 4e-4 * (rng.random() - 0.5)
    return threshold + 6e-3 * (rng.random() - 0.5)


def draw_similarities(rng: np.random.Generator, regime: str) -> np.ndarray:
    """float32 similarities of the reference's prompts, in ``PROMPTS`` order."""
    sims = (0.10 + 0.085 * rng.random(len(PROMPTS))).astype(np.float32)
    for family, count in REGIMES[regime].items():
        texts = FAMILY[family]
        for k in rng.permutation(len(texts))[:count]:
            text = texts[k]
            options = THRESHOLDS[text]
            sims[SLOT[text]] = near(rng, options[rng.integers(len(options))])
            if family == "pairs" and rng.random() < 0.5:  # both words of the pair, often tied
                other = PARTNER[text]
                if rng.random() < 0.5:
                    sims[SLOT[other]] = sims[SLOT[text]]
                else:
                    others = THRESHOLDS[other]
                    sims[SLOT[other]] = near(rng, others[rng.integers(len(others))])
    return sims


def draw_probabilities(rng: np.random.Generator) -> np.ndarray:
    dtype = np.float32 if rng.random() < 0.8 else np.float16  # fp16: the reference on CUDA
    p = rng.uniform(0.0, 1.0, len(TAGS))
    p[0] = near(rng, (0.5, 0.93)[rng.integers(2)]) if rng.random() < 0.7 else rng.uniform(0.85, 1.0)
    p[1] = near(rng, 0.185) if rng.random() < 0.5 else rng.uniform(0, 0.1)
    p[2] = near(rng, 0.125) if rng.random() < 0.5 else rng.uniform(0, 0.1)
    p[3] = near(rng, DANBOORU_NSFW_TAGS["bikini"]) if rng.random() < 0.5 else rng.uniform(0, 0.5)
    p[4] = near(rng, 0.5) if rng.random() < 0.5 else rng.uniform(0, 0.4)
    if rng.random() < 0.1:
        p[3] = np.float32(0.6)  # exactly the float32 nearest 0.6: compared in float32
    return np.clip(p, 0, 1).astype(dtype)


def compare(sims: np.ndarray, probabilities: np.ndarray | None):
    """Every field of the reference's NSFWResult against modbot's decision: the
    differences in words (empty when they agree), and modbot's decision."""
    ref, dd = reference(sims, probabilities)
    danbooru = None if probabilities is None else Danbooru.from_probabilities(probabilities, TAGS)
    got = PLAN.decide(
        np.array([sims[SLOT[t]] if t in SLOT else 0.0 for t in CONCEPTS.prompts], np.float32),
        danbooru,
    )
    r = dict(zip(PROMPTS, round4(sims)))
    labels = set(got.labels)
    problems = []

    def check(what, expected, actual):
        if expected != actual:
            if isinstance(expected, dict) and isinstance(actual, dict):
                diff = {
                    k: (expected.get(k), actual.get(k))
                    for k in expected.keys() | actual.keys()
                    if expected.get(k) != actual.get(k)
                }
                problems.append(f"{what} differ (reference, modbot): {diff}")
            else:
                problems.append(f"{what}: reference {expected!r}, modbot {actual!r}")

    check("is_anime", ref.is_anime, "anime" in labels)
    check("is_nsfw", ref.is_nsfw, "nsfw" in labels)
    check("is_underage_subject", ref.is_underage_subject, "underage" in labels)
    check("is_csam", ref.is_csam, "csam" in labels)
    check(
        "matched_predicates",
        ref.matched_predicates,
        {t: r[t] for t in got.matched.get("subject", ())},
    )
    check(
        "csam_predicates_matched",
        ref.csam_predicates_matched,
        {t: r[t] for t in got.matched.get("underage", ())},
    )
    ratings = danbooru.ratings if got.danbooru_used else {}
    check(
        "nsfw_concepts_identified",
        ref.nsfw_concepts_identified,
        {**ratings, **{t: r[t] for t in got.matched.get("nsfw", ())}},
    )
    check(
        "anime_concepts_identified",
        ref.anime_concepts_identified,
        danbooru.tags if got.danbooru_used else {},
    )
    check("deepdanbooru ran", bool(dd and dd.calls), got.danbooru_used)
    check(
        "all_predicate_scores",
        ref.all_predicate_scores,
        {t: r[t] for t in ref.all_predicate_scores},
    )
    check(
        "nsfw_similarity_results",
        ref.nsfw_similarity_results,
        {t: r[t] for t in ref.nsfw_similarity_results},
    )
    check("is_neg_prompt_suspect", ref.is_neg_prompt_suspect, False)
    # a score is a margin: > 0 exactly when its label fired
    for name in ("anime", "nsfw", "underage", "csam"):
        check(
            f"modbot label {name} (left) and its score > 0 (right)",
            name in labels,
            got.scores[name] > 0,
        )
    return problems, got


# -- the tests ------------------------------------------------------------------------------


def test_the_same_prompts_and_exactly_the_same_thresholds():
    checker = NSFWChecker(stub_interrogator({}), None)
    assert set(PROMPTS) <= set(CONCEPTS.prompts)
    predicates = dict(zip(PLAN.predicates.texts, PLAN.predicates.thr.tolist()))
    assert predicates == checker.all_predicates  # == on floats: the sums are computed alike
    assert (
        dict(zip(PLAN.danger.texts, PLAN.danger.thr.tolist()))
        == checker._combined_underage_danger_concepts
    )
    assert dict(zip(PLAN.nsfw.texts, PLAN.nsfw.thr.tolist())) == checker.all_nsfw_concepts
    overrides = {
        t: v for t, v in checker.nsfw_post_anime_concepts.items() if t in checker.all_nsfw_concepts
    }
    assert dict(zip(PLAN.anime_nsfw.texts, PLAN.anime_nsfw.thr.tolist())) == overrides
    assert dict(zip(PLAN.anime.texts, PLAN.anime.thr.tolist())) == checker.anime_cartoon_predicates
    # the five synthetic prompts, byte for byte
    synthetic = [t for t in PLAN.nsfw.texts if t in checker.nsfw_synth_concepts]
    assert [t.encode() for t in synthetic] == [t.encode() for t in checker.nsfw_synth_concepts]
    assert len(synthetic) == 5


def test_every_field_agrees_with_the_reference_on_near_threshold_draws():
    rng = np.random.default_rng(20261201)
    regimes = list(REGIMES)
    disagreements: list[tuple[int, list[str]]] = []
    fired = {"anime": 0, "nsfw": 0, "underage": 0, "csam": 0, "danbooru": 0}
    for i in range(DRAWS):
        regime = regimes[i % len(regimes)]
        sims = draw_similarities(rng, regime)
        probabilities = draw_probabilities(rng) if rng.random() < 0.5 else None
        problems, got = compare(sims, probabilities)
        if problems:
            disagreements.append((i, problems))
        for name in ("anime", "nsfw", "underage", "csam"):
            fired[name] += name in got.labels
        fired["danbooru"] += got.danbooru_used
    assert not disagreements, (
        f"{len(disagreements)} of {DRAWS} draws disagree; first: {disagreements[:2]}"
    )
    # the draws reach every outcome often (else agreement would prove little)
    assert all(n > DRAWS // 50 for n in fired.values()), fired


@pytest.mark.parametrize(
    "values,danbooru,expected",
    [
        # ties after rounding never fire (strict >): woman at its threshold is no subject
        ({"woman": 0.19400004, "nude": 0.23}, None, set()),
        # the example: child 0.22503 rounds to 0.225 = danger: not underage
        ({"woman": 0.22, "nude": 0.23, "child": 0.22503}, None, {"nsfw"}),
        # a synthetic prompt alone makes a subject's image nsfw
        (
            {
                "woman": 0.2,
                "nel ov lexi lov thwatchin thalaireason zz big oj anticipation บci ov prick": 0.2051,
            },
            None,
            {"nsfw"},
        ),
        # 'photo of a man' at 0.202 + 0 + 0.01 = 0.21200000000000002: 0.212 is below it
        ({"photo of a man": 0.212, "nude": 0.23}, None, set()),
        # anime revoked at exactly 0.208 stays anime; 0.2079 with a photo prompt > 0.24 does not
        ({"anime": 0.208, "photo of a man": 0.25}, None, {"anime"}),
        ({"anime": 0.2079, "photo of a man": 0.2401}, None, set()),
        # DeepDanbooru's explicit rating makes an anime image nsfw without a CLIP concept
        (
            {"anime": 0.21, "child": 0.23},
            [0.2, 0.1, 0.5, 0.0, 0.0],
            {"anime", "csam", "nsfw", "underage"},
        ),
        # its realistic tag sends the image back to the photo rules
        ({"anime": 0.21, "nudity": 0.2, "woman": 0.2}, [0.99, 0.0, 0.0, 0.0, 0.9], set()),
    ],
)
def test_worked_examples_agree(values, danbooru, expected):
    sims = np.full(len(PROMPTS), 0.1, dtype=np.float32)
    for text, value in values.items():
        sims[SLOT[text]] = value
    probabilities = None
    if danbooru is not None:
        probabilities = np.array(danbooru + [0.0] * (len(TAGS) - len(danbooru)), dtype=np.float32)
    problems, got = compare(sims, probabilities)
    assert problems == []
    assert set(got.labels) == expected
