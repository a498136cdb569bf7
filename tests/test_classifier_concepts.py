"""The concept file: the reference numbers as data, validation with clear errors, versions."""

import copy
import json

import pytest

from classifier.concepts import BUILTIN_FILE, ConceptError, ConceptSet, CustomConcept


@pytest.fixture
def data():
    return json.loads(BUILTIN_FILE.read_text())


def prompt(concepts, family, text):
    return next(p for p in concepts.families[family] if p.text == text)


def test_builtin_expands_prefixes_with_their_offsets():
    c = ConceptSet.builtin()
    assert c.calibrated_for == "ViT-L-14/openai"
    # human predicates: prefixed only, 0.202 (+0.01 for 'a man') + prefix offset
    assert prompt(c, "subject", "photo of a boy").threshold == pytest.approx(0.202)
    assert prompt(c, "subject", "illustration of a man").threshold == pytest.approx(0.212 + 0.075)
    # the sum is computed as the reference computes it, float by float
    assert (
        prompt(c, "subject", "photo of a man").threshold == 0.202 + 0 + 0.01 == 0.21200000000000002
    )
    assert "a boy" not in {p.text for p in c.families["subject"]}
    assert prompt(c, "subject", "teens").threshold == pytest.approx(0.19)
    # underage: bare and prefixed, base and danger shifted; lolicon bare only
    p = prompt(c, "underage", "3d render of tweens")
    assert (p.threshold, p.danger) == pytest.approx((0.19 + 0.0125, 0.235 + 0.0125))
    assert [p.text for p in c.families["underage"] if "lolicon" in p.text] == ["lolicon"]
    assert len(c.families["underage"]) == 10 * 5 + 1
    # nsfw concepts: 9 bare + 19 parts in 5 forms; anime overrides as listed
    assert len(c.families["nsfw_concepts"]) == 9 + 19 * 5 + 5  # + the five synthetic prompts
    assert prompt(c, "anime_nsfw_concepts", "nudity").threshold == pytest.approx(0.195)
    # one similarity per distinct text: the same words in two families are scored once
    assert len(c.prompts) == len(set(c.prompts))
    assert c.index["nsfw"] == c.prompts.index("nsfw")


@pytest.mark.parametrize(
    "edit,message",
    [
        (
            lambda d: d["families"]["underage"][0].update(treshold=0.1),
            "families.underage[0]: unknown key 'treshold'",
        ),
        (
            lambda d: d["families"]["underage"][0].update(modifier=-0.1),
            "families.underage[0].modifier: -0.1 must be >= 0",
        ),
        (
            lambda d: d["families"]["underage"][0].update(danger=0.3),
            "families.underage[0]: unknown key 'danger'",
        ),
        (
            lambda d: d["families"]["underage"][0].pop("modifier"),
            "families.underage[0]: missing 'modifier'",
        ),
        (
            lambda d: d["families"]["anime"][1].update(threshold="high"),
            "families.anime[1].threshold: must be a number",
        ),
        (lambda d: d["families"]["anime"][1].update(threshold=2), "not a cosine similarity"),
        (
            lambda d: d["families"]["subject"][0].update(forms="prefix"),
            "forms: 'prefix' must be one of bare, prefixed, both",
        ),
        (lambda d: d["families"].pop("anime"), "families: missing 'anime'"),
        (
            lambda d: d["families"]["nsfw_concepts"].append({"text": "nude", "threshold": 0.2}),
            "prompt 'nude' appears twice",
        ),
        (
            lambda d: d["decision"]["second_pass"].update(pairs=[["child", "kids"]]),
            "second_pass.pairs",
        ),
        (
            lambda d: d["decision"]["second_pass"].update(min_distinct_hits=0),
            "min_distinct_hits: must be a whole number >= 1",
        ),
        (lambda d: d.update(format=1), "format 1 is not supported (this version reads 2)"),
    ],
)
def test_invalid_files_say_where_and_what(data, edit, message):
    broken = copy.deepcopy(data)
    edit(broken)
    with pytest.raises(ConceptError) as err:
        ConceptSet.from_dict(broken, source="concepts.json")
    assert message in str(err.value)
    assert str(err.value).startswith("concepts.json")


def test_load_reports_the_json_syntax_line(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{\n  "format": 1,\n  "prefixes": {,\n}')
    with pytest.raises(ConceptError, match=r"c.json:3: not valid JSON"):
        ConceptSet.load(path)
    with pytest.raises(ConceptError, match="cannot read"):
        ConceptSet.load(tmp_path / "missing.json")


def test_a_valid_file_loads(tmp_path, data):
    data["families"]["anime"].append({"text": "chibi", "threshold": 0.21})
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(data))
    c = ConceptSet.load(path)
    assert "chibi" in c.prompts and c.source == str(path)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(name="Gore!", prompts=["gore"], threshold=0.2), "lower-case letters"),
        (dict(name="nsfw", prompts=["gore"], threshold=0.2), "is a built-in score"),
        (dict(name="gore", prompts=[], threshold=0.2), "non-empty list"),
        (dict(name="gore", prompts=["gore", "  "], threshold=0.2), "non-empty strings"),
        (dict(name="gore", prompts=["gore"], threshold=1.5), "not a cosine similarity"),
        (dict(name="gore", prompts=["gore"], threshold="0.2"), "must be a number"),
    ],
)
def test_custom_concepts_are_validated(kwargs, message):
    with pytest.raises(ConceptError, match=message):
        CustomConcept(**kwargs)


def test_custom_concepts_add_prompts_and_scores():
    c = ConceptSet.builtin(
        [
            CustomConcept("gore", "a bloody wound", 0.22),
            CustomConcept("hate_symbols", ["a swastika"], 0.23),
        ]
    )
    assert c.custom[0].prompts == ("a bloody wound",)
    assert c.score_names[-2:] == ("gore", "hate_symbols")
    assert {"a bloody wound", "a swastika"} <= set(c.prompts)
    with pytest.raises(ConceptError, match="used twice"):
        ConceptSet.builtin([CustomConcept("gore", ["x"], 0.2), CustomConcept("gore", ["y"], 0.2)])


def test_version_changes_with_model_prompts_thresholds_and_preprocessing(data):
    base = ConceptSet.builtin()
    v = base.version("ViT-L-14/openai@abc", "1")
    assert v == ConceptSet.builtin().version("ViT-L-14/openai@abc", "1")  # stable
    assert len(v) == 16
    assert v != base.version("ViT-L-14/openai@def", "1")
    assert v != base.version("ViT-L-14/openai@abc", "2")
    assert v != base.with_custom([CustomConcept("gore", ["gore"], 0.2)]).version(
        "ViT-L-14/openai@abc", "1"
    )
    data["families"]["anime"][0]["threshold"] = 0.201
    assert v != ConceptSet.from_dict(data).version("ViT-L-14/openai@abc", "1")
