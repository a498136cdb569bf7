"""A GIF whose first frame reads and whose second claims 30000x30000 (a bomb only a
linked file can carry: pict-rs checks what it stores) got no verdict but `unreadable`,
though its first frame is exactly what the reference checks (docs/ARCHITECTURE.md: the
reference's verdict is always one of ours). Under the default rules a CSAM GIF so made
was only reported, not removed and purged. Now the first frame is classified alone: a
label it fires stands (`unreadable` still saying what was not read and why, so the rules
on labels act, and those on unreadable files too); with none the file stays unreadable,
word for word as before (a bomb buys no innocent verdict)."""

from __future__ import annotations

import io
import struct
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from classifier.concepts import ConceptSet, CustomConcept
from classifier.engine import FIRST_FRAME_ONLY, Engine
from classifier.model import load_model
from classifier.tiny import tiny_spec, write_random_checkpoint
from fakelemmy.hostile import tiff_huge_later_pages
from modbot.config.policy import load_policy
from modbot.rules import Subject

DATA = Path(__file__).parent / "data"
BOMB = (
    "GIF frame 2 of 2 is 30000x30000, 900 megapixels, over the 64 megapixel cap "
    "(decompression bomb?)"
)


def bomb_gif(bad: int = 1, side: int = 30000) -> bytes:
    """A two-frame GIF of a photo, the image descriptor of frame ``bad`` + 1 claiming
    ``side`` x ``side`` (its pixels stay 64x64: only the header lies)."""
    photo = Image.open(DATA / "astronaut.jpg").convert("RGB").resize((64, 64))
    frames = [photo.convert("P"), Image.new("P", (64, 64), 40)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    data = bytearray(out.getvalue())
    pos, index = 13, 0
    if data[10] & 0x80:
        pos += 3 << ((data[10] & 7) + 1)
    while data[pos] != 0x3B:
        kind = data[pos]
        pos += 1
        if kind == 0x2C:  # an image descriptor: x, y, width, height, flags
            if index == bad:
                struct.pack_into("<HH", data, pos + 4, side, side)
            flags = data[pos + 8]
            pos += 9 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
            index += 1
        else:  # an extension: its label
            pos += 1
        while data[pos]:  # sub-blocks
            pos += 1 + data[pos]
        pos += 1
    assert index == 2
    return bytes(data)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    checkpoint = write_random_checkpoint(tmp_path_factory.mktemp("tiny") / "t.safetensors")
    return load_model(tiny_spec(checkpoint))


def concepts(threshold: float) -> ConceptSet:
    # threshold -1: a cosine similarity always crosses it; 1: never
    return ConceptSet.builtin(custom=[CustomConcept("probe", ("a photo of a cat",), threshold)])


RULES = """
concepts:
  probe: {prompts: ["a photo of a cat"], threshold: -1}
rules:
  - name: classifier flags probe
    if: {labels: [probe]}
    then:
      remove: "suspected abusive image"
      purge_image: true
  - name: image could not be checked
    if: {type: [post, comment], unreadable: true}
    then:
      report: "modbot could not check this image ({{unreadable}})"
"""


def decide(tmp_path: Path, verdict) -> list[str]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(textwrap.dedent(RULES).lstrip("\n"))
    subject = Subject.from_verdict(
        verdict,
        item_kind="post",
        found_in="post_url",
        community_name="pics@lemmy.example",
        author_actor_id="https://other.example/u/someone",
        author_local=False,
    )
    return [a.kind for a in load_policy(rules).decide(subject).actions]


@pytest.mark.parametrize("processes", [0, 1], ids=["threads", "processes"])
def test_a_label_its_first_frame_fires_stands(loaded, tmp_path, processes):
    with Engine(loaded, concepts(-1.0), decode_processes=processes) as engine:
        (verdict,) = engine.classify_many([bomb_gif()])
    assert verdict.labels == ("probe",) and verdict.scores["probe"] > 0
    assert verdict.regions >= 1
    # the record says what was read, and why the rest was not
    assert verdict.unreadable == f"{BOMB}; {FIRST_FRAME_ONLY}"
    assert decide(tmp_path, verdict) == ["remove", "purge_image"]


@pytest.mark.parametrize("processes", [0, 1], ids=["threads", "processes"])
def test_no_label_leaves_it_unreadable_as_before(loaded, tmp_path, processes):
    with Engine(loaded, concepts(1.0), decode_processes=processes) as engine:
        (verdict,) = engine.classify_many([bomb_gif()])
        assert engine.stats["unreadable"] == 1
    assert verdict.labels == () and verdict.scores == {} and verdict.regions == 0
    assert verdict.unreadable == BOMB
    assert decide(tmp_path, verdict) == ["report"]


def test_a_bomb_in_the_first_frame_is_unreadable(loaded):
    with Engine(loaded, concepts(-1.0), decode_processes=0) as engine:
        (verdict,) = engine.classify_many([bomb_gif(bad=0, side=20000)])
    assert verdict.labels == () and verdict.scores == {}
    assert "bomb" in (verdict.unreadable or "") and FIRST_FRAME_ONLY not in verdict.unreadable


@pytest.mark.parametrize("processes", [0, 1], ids=["threads", "processes"])
def test_frames_over_the_whole_budget_read_as_the_first_alone(loaded, processes):
    # a later frame under the pixel cap (49 megapixels) whose decode the budget could
    # never hold: the first frame alone fits it
    data = bomb_gif(side=7000)
    budget = 300_000_000
    with Engine(loaded, concepts(-1.0), decode_processes=processes, decode_memory=budget) as engine:
        (verdict,) = engine.classify_many([data])
        assert engine.decode_budget.refused == 1  # the whole file's cost, never held
        assert engine.decode_budget.peak < 100_000_000  # its first frame's only
    assert verdict.labels == ("probe",)
    assert verdict.unreadable.startswith("decoding this image would take about")
    assert verdict.unreadable.endswith(FIRST_FRAME_ONLY)


def test_a_tiff_whose_later_pages_are_bombs_is_judged_by_its_first(loaded):
    data = tiff_huge_later_pages()  # 64x64, then pages of 169 megapixels
    with Engine(loaded, concepts(-1.0), decode_processes=0) as engine:
        (verdict,) = engine.classify_many([data])
    assert verdict.labels == ("probe",)
    assert verdict.unreadable == (
        "TIFF frame 2 of 3 is 13000x13000, 169 megapixels, over the 64 megapixel cap "
        f"(decompression bomb?); {FIRST_FRAME_ONLY}"
    )
