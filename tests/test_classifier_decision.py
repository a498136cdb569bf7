"""The reference decision from synthetic similarity vectors (no model needed)."""

import numpy as np
import pytest

from classifier.concepts import ConceptSet, CustomConcept
from classifier.decision import DecisionPlan, combine

CONCEPTS = ConceptSet.builtin([CustomConcept("gore", ["a bloody wound", "gore"], 0.25)])
PLAN = DecisionPlan(CONCEPTS)
QUIET = 0.10  # below every threshold of the reference


def decide(**sims):
    """Decide a vector where the named prompts (underscores for spaces) have these
    similarities and every other prompt is quiet."""
    return PLAN.decide(vector(sims))


def vector(sims: dict) -> np.ndarray:
    v = np.full(len(CONCEPTS.prompts), QUIET)
    for name, value in sims.items():
        v[CONCEPTS.index[name.replace("_", " ")]] = value
    return v


def test_a_quiet_image_has_no_label_and_every_score_is_a_negative_margin():
    d = decide()
    assert d.labels == ()
    assert set(d.scores) == {"subject", "underage", "nsfw", "anime", "csam", "gore"}
    assert all(s < 0 for s in d.scores.values())
    # the subject's nearest threshold is the underage predicate 'young children' (base 0.189)
    assert d.scores["subject"] == pytest.approx(QUIET - 0.189)


def test_danger_threshold_crossed_is_underage_with_its_margin():
    d = decide(child=0.23)  # danger 0.225
    assert d.labels == ("underage",)
    assert d.scores["underage"] == pytest.approx(0.005)
    assert d.matched["underage"] == ("child",)
    # an underage prompt is a subject requiring check from its base threshold (0.19) on
    assert d.scores["subject"] == pytest.approx(0.23 - 0.19)


def test_prefix_offsets_shift_base_and_danger():
    assert decide(illustration_of_child=0.29).labels == ()  # danger 0.225 + 0.075 = 0.30
    assert decide(illustration_of_child=0.305).labels == ("underage",)


def test_one_second_pass_hit_is_not_enough():
    # child: base 0.19, danger 0.225 -> second pass (photo-like) 0.19 + 0.4 * 0.035 = 0.204
    assert decide(child=0.21).labels == ()


def test_two_distinct_second_pass_hits_are_underage():
    # toddler: 0.19 + 0.4 * 0.0275 = 0.201
    d = decide(child=0.21, toddler=0.205)
    assert d.labels == ("underage",)
    assert d.scores["underage"] == pytest.approx(0.205 - 0.201)  # the second-best hit's margin
    assert set(d.matched["underage"]) == {"child", "toddler"}


@pytest.mark.parametrize(
    "singular,plural",
    [("child", "children"), ("tween", "tweens"), ("toddler", "toddlers"), ("an infant", "infants")],
)
def test_a_singular_plural_pair_counts_once(singular, plural):
    d = PLAN.decide(vector({singular: 0.215, plural: 0.215}))
    assert "underage" not in d.labels
    assert d.scores["underage"] < 0


def test_second_pass_below_the_moved_threshold_does_not_count():
    assert decide(child=0.2, toddler=0.2).labels == ()  # 0.2 < 0.204 and 0.2 < 0.201


def test_nsfw_requires_a_subject():
    assert decide(nude=0.25).labels == ()
    d = decide(nude=0.25, photo_of_a_woman=0.21)  # 'a woman' prefixed: 0.202
    assert d.labels == ("nsfw",)
    assert d.scores["nsfw"] == pytest.approx(0.21 - 0.202)  # the weaker of the two margins
    assert d.matched["nsfw"] == ("nude",)
    assert d.matched["subject"] == ("photo of a woman",)


def test_nsfw_predicates_count_as_a_subject():
    assert decide(nude=0.25, porn_scene=0.22).labels == ("nsfw",)  # porn scene predicate 0.21


def test_csam_is_underage_and_nsfw():
    d = decide(child=0.23, nude=0.25)
    assert d.labels == ("csam", "nsfw", "underage")
    assert d.scores["csam"] == pytest.approx(min(0.005, 0.03))
    assert decide(child=0.23).scores["csam"] < 0
    assert "csam" not in decide(nude=0.25, photo_of_a_woman=0.21).labels


def test_anime_and_its_revocation_by_a_strong_photo_score():
    assert decide(anime=0.205).labels == ("anime",)
    # every anime score below 0.208 and a photo prompt above 0.24: revoked
    revoked = decide(anime=0.205, photo_of_a_man=0.245)
    assert "anime" not in revoked.labels
    assert revoked.scores["anime"] < 0
    # a strong anime score (>= 0.208) is kept despite the photo
    assert "anime" in decide(anime=0.21, photo_of_a_man=0.245).labels
    # a photo score not above 0.24 does not revoke
    assert "anime" in decide(anime=0.205, photo_of_a_man=0.235).labels


def test_anime_images_use_the_anime_nsfw_overrides_only():
    # 'sexy' (0.22) is not an anime override: not nsfw for an anime image, nsfw for a photo
    anime = decide(anime=0.21, photo_of_a_woman=0.21, sexy=0.23)
    assert "anime" in anime.labels and "nsfw" not in anime.labels
    assert "nsfw" in decide(photo_of_a_woman=0.21, sexy=0.23).labels
    # 'nudity' is 0.195 for anime but 0.21 for photos
    assert "nsfw" in decide(anime=0.21, photo_of_a_woman=0.21, nudity=0.2).labels
    assert "nsfw" not in decide(photo_of_a_woman=0.21, nudity=0.2).labels


def test_anime_second_pass_uses_bare_prompts_and_teen():
    # anime factor 0.05: child 0.19 + 0.05 * 0.035 = 0.19175; 'teen' counts at its 0.19
    assert "underage" in decide(anime=0.21, child=0.192, teen=0.191).labels
    # the same similarities on a photo-like image are below the photo factor's thresholds
    assert "underage" not in decide(child=0.192, teen=0.191).labels
    # teen/teens are a pair: once
    assert "underage" not in decide(anime=0.21, teen=0.195, teens=0.195).labels
    # prefixed underage prompts are not part of the anime second pass
    assert "underage" not in decide(anime=0.21, painting_of_child=0.2, teen=0.191).labels


def test_custom_concept_fires_with_its_own_score():
    d = decide(gore=0.26)
    assert d.labels == ("gore",)
    assert d.scores["gore"] == pytest.approx(0.01)
    assert d.matched["gore"] == ("gore",)
    assert decide(gore=0.24).labels == ()


def test_regions_combine_to_the_worst():
    a = decide(child=0.23)
    b = decide(nude=0.25, photo_of_a_woman=0.21)
    both = combine([a, b])
    assert both.labels == ("nsfw", "underage")
    assert both.scores == {k: max(a.scores[k], b.scores[k]) for k in a.scores}
    assert both.matched["underage"] == ("child",) and both.matched["nsfw"] == ("nude",)
