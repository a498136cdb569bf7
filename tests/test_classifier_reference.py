"""An independent check of the built-in concepts and decision against the reference
(../shared/reference/safety-classifier.md: horde-safety's NSFWChecker at ebea47a).

The numbers below are copied from the reference document, not from
safety_concepts.json, so a typo or a lost prompt in the data shows up here."""

import numpy as np
import pytest

from classifier.concepts import ConceptSet
from classifier.decision import DecisionPlan

CONCEPTS = ConceptSet.builtin()
PLAN = DecisionPlan(CONCEPTS)
QUIET = 0.10  # below every threshold of the reference

PREFIXES = {"photo of": 0.0, "painting of": 0.005, "illustration of": 0.075, "3d render of": 0.0125}

HUMAN_PARTS = {  # prefixed only: 0.202 + part offset (+ prefix offset)
    "a boy": 0.202,
    "boys": 0.202,
    "a girl": 0.202,
    "girls": 0.202,
    "a teen": 0.202,
    "men": 0.202,
    "a woman": 0.202,
    "a couple": 0.202,
    "couple kissing": 0.202,
    "a man": 0.212,
    "a girl in a bikini": 0.212,
    "girls in bikinis": 0.212,
}
HUMAN_BARE = {
    "boy": 0.194,
    "boys": 0.194,
    "man": 0.194,
    "men": 0.194,
    "girl": 0.194,
    "girls": 0.194,
    "woman": 0.194,
    "women": 0.194,
    "teenager": 0.194,
    "teen": 0.19,
    "teens": 0.19,
}
UNDERAGE = {  # prompt: (base, modifier); danger = base + modifier
    "child": (0.19, 0.035),
    "children": (0.19, 0.035),
    "young children": (0.189, 0.03),
    "a baby": (0.19, 0.0275),
    "an infant": (0.19, 0.0275),
    "infants": (0.19, 0.0275),
    "toddler": (0.19, 0.0275),
    "toddlers": (0.19, 0.0275),
    "tween": (0.19, 0.045),
    "tweens": (0.19, 0.045),
    "lolicon": (0.20, 0.044),
}
NSFW_PREDICATES = {  # bare and prefixed
    "18+": 0.20,
    "explicit content": 0.21,
    "erotica": 0.21,
    "exposed erection": 0.215,
    "close up of a vagina": 0.24,
    "photo of vagina": 0.22,
    "porn scene": 0.21,
    "lesbian scene": 0.22,
    "gay scene": 0.22,
}
ANIME = {
    "japanese animation": 0.20,
    "Japanese cartoon": 0.20,
    "anime": 0.20,
    "cartoon": 0.20,
    "manga": 0.205,
}
NSFW_BARE = {
    "sexual": 0.2,
    "sexy": 0.22,
    "uncensored": 0.21,
    "naked": 0.22,
    "nude": 0.22,
    "nsfw": 0.21,
    "nudity": 0.21,
    "erotic": 0.21,
    "fucking": 0.21,
}
NSFW_PARTS = {  # bare and prefixed
    "explicit content": 0.20,
    "exposed erection": 0.21,
    "close up of a vagina": 0.24,
    "a womans legs spread, vagina exposed": 0.23,
    "exposed vagina": 0.22,
    "erotica": 0.21,
    "blowjob": 0.22,
    "vagina": 0.21,
    "an erection": 0.21,
    "porn": 0.2,
    "porn scene": 0.20,
    "lesbian scene": 0.22,
    "gay scene": 0.22,
    "a nude man's ass": 0.21,
    "a nude woman's ass": 0.21,
    "exposed breasts": 0.22,
    "girl in a bikini": 0.22,
    "underwear": 0.21,
    "lingerie": 0.21,
}
# the five "synthetic" prompts, as the reference document spells them (two spaces in the
# second: two adjacent literals in the source); the oracle test checks the package's bytes
SYNTHETIC = {
    "quintesstain corinblazing dean n blondes bronxsmug demi pilebarcelonluisspandex ,... ...#": 0.205,
    "liam paying awwww hubby ... feeding mr  omg dropbox brad(@ zaynwoo \u2026.. burr": 0.205,
    "nel ov lexi lov thwatchin thalaireason zz big oj anticipation \u0e1aci ov prick": 0.205,
    "somehow dang rochelle sizzgusta imrankhanhalftime rankings equities exists skynews -- - smokin epidemiq": 0.205,
    "asses zeit brunette brunette bikini meatlessdesired androunprecearomatic limestone "
    "juxtatweetapicturevalmelee photo": 0.205,
}
ANIME_OVERRIDES = {
    "nsfw": 0.21,
    "exposed breasts": 0.205,
    "illustration of exposed breasts": 0.205,
    "nudity": 0.195,
    "nude": 0.195,
    "naked": 0.22,
}


def expected_families() -> dict[str, dict[str, tuple[float, float | None]]]:
    """Every prompt text of each family with (threshold, danger), expanded by hand."""
    out = {
        f: {}
        for f in (
            "subject",
            "underage",
            "nsfw_predicates",
            "anime",
            "nsfw_concepts",
            "anime_nsfw_concepts",
        )
    }
    for text, thr in HUMAN_BARE.items():
        out["subject"][text] = (thr, None)
    for text, (base, mod) in UNDERAGE.items():
        out["underage"][text] = (base, base + mod)
    for text, thr in NSFW_PREDICATES.items():
        out["nsfw_predicates"][text] = (thr, None)
    for text, thr in ANIME.items():
        out["anime"][text] = (thr, None)
    for text, thr in {**NSFW_BARE, **NSFW_PARTS, **SYNTHETIC}.items():
        out["nsfw_concepts"][text] = (thr, None)
    for text, thr in ANIME_OVERRIDES.items():
        out["anime_nsfw_concepts"][text] = (thr, None)
    for prefix, off in PREFIXES.items():
        for text, thr in HUMAN_PARTS.items():
            out["subject"][f"{prefix} {text}"] = (thr + off, None)
        for text, (base, mod) in UNDERAGE.items():
            if text != "lolicon":
                out["underage"][f"{prefix} {text}"] = (base + off, base + mod + off)
        for text, thr in NSFW_PREDICATES.items():
            out["nsfw_predicates"][f"{prefix} {text}"] = (thr + off, None)
        for text, thr in NSFW_PARTS.items():
            out["nsfw_concepts"][f"{prefix} {text}"] = (thr + off, None)
    return out


EXPECTED = expected_families()


def test_prefix_offsets():
    # every prefixed prompt carries exactly one of the reference prefixes with its offset
    for family in CONCEPTS.families.values():
        for p in family:
            if p.prefix:
                assert p.prefix in PREFIXES and p.text == f"{p.prefix} {p.base}"


@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_every_family_has_exactly_the_reference_prompts_and_thresholds(family):
    got = {p.text: (p.threshold, p.danger) for p in CONCEPTS.families[family]}
    assert sorted(got) == sorted(EXPECTED[family])
    for text, (thr, danger) in EXPECTED[family].items():
        assert got[text][0] == pytest.approx(thr, abs=1e-12), text
        if danger is None:
            assert got[text][1] is None, text
        else:
            assert got[text][1] == pytest.approx(danger, abs=1e-12), text


def test_family_sizes():
    sizes = {f: len(CONCEPTS.families[f]) for f in EXPECTED}
    assert sizes == {
        "subject": 11 + 12 * 4,
        "underage": 11 + 10 * 4,
        "nsfw_predicates": 9 * 5,
        "anime": 5,
        "nsfw_concepts": 9 + 19 * 5 + 5,  # the five synthetic prompts included
        "anime_nsfw_concepts": 6,
    }


@pytest.mark.parametrize(
    "text,threshold,danger",
    [  # a few rows worked out by hand from the reference's table
        ("young children", 0.189, 0.219),
        ("a baby", 0.19, 0.2175),
        ("tweens", 0.19, 0.235),
        ("lolicon", 0.20, 0.244),
        ("painting of young children", 0.194, 0.224),
        ("illustration of toddlers", 0.265, 0.2925),
        ("3d render of child", 0.2025, 0.2375),
        ("photo of an infant", 0.19, 0.2175),
    ],
)
def test_underage_base_and_danger(text, threshold, danger):
    p = next(p for p in CONCEPTS.families["underage"] if p.text == text)
    assert (p.threshold, p.danger) == pytest.approx((threshold, danger))


def test_decision_constants():
    d = CONCEPTS.decision
    assert (d.anime_below, d.photo_word, d.photo_above) == (0.208, "photo", 0.24)
    assert (d.photo_factor, d.anime_factor, d.min_distinct_hits) == (0.4, 0.05, 2)
    assert set(d.anime_extra_subject_prompts) == {"teen", "teens"}
    assert d.anime_skip_prompts == ("lolicon",)
    assert {frozenset(p) for p in d.pairs} == {
        frozenset(p)
        for p in [
            ("tween", "tweens"),
            ("teen", "teens"),
            ("an infant", "infants"),
            ("toddler", "toddlers"),
            ("child", "children"),
        ]
    }


# -- decision steps the other tests do not reach ------------------------------------------


def decide(sims: dict):
    v = np.full(len(CONCEPTS.prompts), QUIET)
    for name, value in sims.items():
        v[CONCEPTS.index[name]] = value
    return PLAN.decide(v)


def test_an_anime_predicate_is_a_subject_requiring_check():
    # step 2: "any predicate above its threshold" includes the anime predicates, so an
    # anime image with an anime NSFW override concept is nsfw without a human predicate
    d = decide({"anime": 0.21, "nudity": 0.2})
    assert d.labels == ("anime", "nsfw")
    assert d.matched["subject"] == ("anime",)
    assert decide({"nudity": 0.2}).labels == ()


def test_an_underage_predicate_above_its_base_is_a_subject_requiring_check():
    # step 2: an underage predicate counts at its base threshold (0.19), not only at danger
    d = decide({"child": 0.20, "nude": 0.23})
    assert d.labels == ("nsfw",)
    assert d.scores["subject"] == pytest.approx(0.20 - 0.19)
    assert d.matched["subject"] == ("child",)
    # an underage prompt above danger is listed once among the subject's matches
    assert decide({"child": 0.23}).matched["subject"] == ("child",)


def test_a_prompt_containing_photo_from_any_predicate_family_revokes_anime():
    # 'photo of vagina' is an NSFW predicate, 'photo of toddlers' an underage one
    assert "anime" not in decide({"cartoon": 0.205, "photo of vagina": 0.245}).labels
    assert "anime" not in decide({"manga": 0.207, "photo of toddlers": 0.241}).labels
    # only photo prompts count: a strong 'painting of' prompt does not revoke
    assert "anime" in decide({"cartoon": 0.205, "painting of a man": 0.3}).labels


def test_anime_revocation_looks_at_every_matching_anime_score():
    # one matching anime score at 0.208 or above keeps anime, even if others are weak
    assert "anime" in decide({"cartoon": 0.201, "anime": 0.209, "photo of a man": 0.25}).labels
    assert "anime" not in decide({"cartoon": 0.201, "anime": 0.207, "photo of a man": 0.25}).labels


def test_photo_second_pass_counts_prefixed_prompts_and_lolicon():
    # photo-like second pass: prefixed prompts count, each moved by 0.4 of its modifier
    # painting of child: 0.195 + 0.4 * 0.035 = 0.209; photo of a baby: 0.19 + 0.4 * 0.0275 = 0.201
    assert "underage" in decide({"painting of child": 0.21, "photo of a baby": 0.202}).labels
    assert "underage" not in decide({"painting of child": 0.208, "photo of a baby": 0.202}).labels
    # lolicon: 0.20 + 0.4 * 0.044 = 0.2176
    assert "underage" in decide({"lolicon": 0.218, "child": 0.205}).labels


def test_only_the_listed_singular_plural_pairs_count_once():
    # the reference pairs the bare words; 'photo of child' and 'photo of children' are
    # two distinct hits, and so are a bare word and its prefixed form
    assert "underage" in decide({"photo of child": 0.205, "photo of children": 0.205}).labels
    assert "underage" in decide({"child": 0.205, "photo of child": 0.205}).labels
    assert "underage" not in decide({"children": 0.205, "child": 0.205}).labels
    # 'young children' is no pair of 'child'
    assert "underage" in decide({"child": 0.205, "young children": 0.202}).labels


def test_anime_second_pass_teens_needs_a_second_distinct_hit():
    # anime: teens (0.19) + toddlers (0.19 + 0.05 * 0.0275 = 0.191375) -> two hits
    assert "underage" in decide({"anime": 0.21, "teens": 0.191, "toddlers": 0.1915}).labels
    assert "underage" not in decide({"anime": 0.21, "teens": 0.191, "toddlers": 0.1913}).labels
    # teen/teens below their human thresholds do not count
    assert "underage" not in decide({"anime": 0.21, "teen": 0.189, "toddlers": 0.1915}).labels


def test_first_pass_danger_wins_for_anime_too():
    # a prefixed underage prompt above its danger threshold is underage on an anime image
    d = decide({"anime": 0.21, "illustration of tween": 0.311})  # 0.235 + 0.075
    assert "underage" in d.labels and d.matched["underage"] == ("illustration of tween",)


def test_csam_needs_both_and_anime_csam_uses_the_overrides():
    # anime, teen + child in the anime second pass, nudity over its anime override 0.195
    d = decide({"anime": 0.21, "teen": 0.195, "child": 0.192, "nudity": 0.2})
    assert d.labels == ("anime", "csam", "nsfw", "underage")
    # the same on a photo-like image: neither underage (0.204 for child) nor nsfw (0.21)
    assert decide({"teen": 0.195, "child": 0.192, "nudity": 0.2}).labels == ()


def test_lolicon_is_left_out_of_the_anime_second_pass():
    # the reference's anime pass skips 'lolicon' (source at ebea47a: `if predicate ==
    # "lolicon" ... continue`); it still counts at its danger threshold (0.244)
    assert "underage" not in decide({"anime": 0.21, "lolicon": 0.24, "teen": 0.195}).labels
    assert "underage" in decide({"anime": 0.21, "lolicon": 0.245}).labels
    assert "underage" in decide({"anime": 0.21, "tween": 0.193, "teen": 0.195}).labels  # 0.19225


def test_anime_skip_prompts_are_validated_and_optional():
    import copy
    import json

    from classifier.concepts import BUILTIN_FILE, ConceptError

    data = json.loads(BUILTIN_FILE.read_text())
    broken = copy.deepcopy(data)
    broken["decision"]["second_pass"]["anime_skip_prompts"] = ["photo of child"]
    with pytest.raises(
        ConceptError, match=r"anime_skip_prompts: must list bare prompts of families.underage"
    ):
        ConceptSet.from_dict(broken)
    del data["decision"]["second_pass"]["anime_skip_prompts"]
    plan = DecisionPlan(ConceptSet.from_dict(data))
    v = np.full(len(CONCEPTS.prompts), QUIET)
    for name, value in {"anime": 0.21, "lolicon": 0.24, "teen": 0.195}.items():
        v[CONCEPTS.index[name]] = value
    assert "underage" in plan.decide(v).labels  # without the key, lolicon counts again
