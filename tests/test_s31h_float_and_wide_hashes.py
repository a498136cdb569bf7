"""A float TIFF (Pillow's mode F) or a 32-bit integer one (mode I, values past 16 bits)
was hashed as Pillow converts it to 8 bits: clipped, every value over 255 white (a
float's from 0 to 1 all black). The picture was lost: its PDQ of quality 0 (matching
nothing), its pHash tens of bits from the picture's, so saving a listed picture as a
float TIFF was enough to pass every PDQ and pHash list. Now such an image is scaled so
its largest value is white, as the classifier's decoder shows it, and hashes as the
picture it shows. Files known before, whose PDQ was not taken, are tried again
(HASHING 3)."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support.cli import bot_environment
from support.policies import _policy_head, _remote

import modbot.hash_input
import modbot.hashes
import modbot.pdq
from fakelemmy.state import now
from modbot.cli import main

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "tests" / "data" / "coffee.jpg"


def tiff(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "TIFF")
    return out.getvalue()


def copies() -> dict[str, bytes]:
    """The photo in grey as an 8-bit TIFF, and re-saved as the tools that write floats
    and wide integers save it."""
    grey = np.asarray(Image.open(PHOTO).convert("L"))
    return {
        "eight": tiff(Image.fromarray(grey, "L")),
        # numpy / scikit-image's floats: 0 to 1
        "float-unit": tiff(Image.fromarray((grey / 255.0).astype(np.float32), "F")),
        # Pillow's convert("F"): 0 to 255
        "float-255": tiff(Image.fromarray(grey.astype(np.float32), "F")),
        # 8 bits widened to 31 (the full signed 32-bit range)
        "wide": tiff(
            Image.fromarray((grey.astype(np.int64) * (2**31 - 1) // 255).astype(np.int32))
        ),
    }


def test_float_and_wide_copies_hash_as_the_picture(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = {}
    for name, data in copies().items():
        paths[name] = tmp_path / f"{name}.tiff"
        paths[name].write_bytes(data)
    assert {Image.open(p).mode for p in paths.values()} == {"L", "F", "I"}

    assert main(["hash", "--format", "json", "--kind", "phash", "--kind", "pdq",
                 *map(str, paths.values())]) == 0  # fmt: skip
    rows = {Path(r["file"]).stem: r for r in json.loads(capsys.readouterr().out)}
    eight = rows.pop("eight")
    assert eight["pdq_quality"] == 100
    for name, row in rows.items():
        # was (float-unit): pdq quality 0, matching nothing; a pHash 32 bits off
        assert (name, row["hashes"], row["pdq_quality"]) == (name, eight["hashes"], 100)


RULES = """
  look-alikes-pdq: {{kind: pdq, file: pdq.txt}}
fetch: {{allow_hosts: ["{remote}"]}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
rules:
  - name: look-alike
    if: {{hash_list: look-alikes-pdq}}
    then: {{report: "looks like a listed image"}}
"""


def _old_eight_bit(img: Image.Image) -> Image.Image:
    """``eight_bit`` as HASHING 2 had it: floats and wide integers clipped."""
    if not (img.mode.startswith("I;16") or img.mode == "I"):
        return img
    values = np.asarray(img)
    if img.mode == "I" and int(values.max(initial=0)) <= 255:
        return img
    return Image.fromarray(np.clip(values >> 8, 0, 255).astype(np.uint8), "L")


def test_a_listed_picture_saved_as_a_float_tiff_matches_the_list(
    fake_lemmy, tiny_checkpoint, tmp_path, monkeypatch, capsys
) -> None:
    """The bot on a PDQ list of the photo, and a post linking its float copy: matched.
    A state that knew the file under HASHING 2 (its PDQ not taken) downloads it again."""
    listed = tmp_path / "eight.tiff"
    listed.write_bytes(copies()["eight"])
    assert main(["hash", "--kind", "pdq", str(listed)]) == 0
    (tmp_path / "pdq.txt").write_text(capsys.readouterr().out)  # the list, as documented
    rules = tmp_path / "rules.yaml"
    head = _policy_head(tiny_checkpoint, tmp_path, ())
    rules.write_text(head + RULES.format(remote=_remote(fake_lemmy)))
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "state.sqlite3"
    bot_environment(monkeypatch, fake_lemmy, state, rules)
    cast = fake_lemmy.cast
    link = fake_lemmy.add_remote_file("copy.tiff", copies()["float-unit"])

    def sweep_of_a_new_post(name: str) -> tuple[dict, list]:
        """A new post of the link, ``modbot sweep --all --dry-run``: its decision, and
        the requests for the link's file."""
        fake_lemmy.add_post(cast.pics, cast.bob, name=name, url=link, published=now())
        mark = len(fake_lemmy.requests)
        assert main(["sweep", "--all", "--dry-run"]) == 0
        fetched = [r for r in fake_lemmy.requests[mark:] if r.path.endswith("copy.tiff")]
        with sqlite3.connect(state) as db:
            rows = db.execute("SELECT record FROM decisions ORDER BY id").fetchall()
        records = [json.loads(r) for (r,) in rows]
        posts = [r for r in records if r["item"]["kind"] == "post"]
        return posts[-1], fetched

    # hashed by the code of HASHING 2: its PDQ of quality 0, not taken, remembered so
    with monkeypatch.context() as old:
        for module in (modbot.hash_input, modbot.pdq, modbot.hashes):
            old.setattr(module, "eight_bit", _old_eight_bit)
        old.setattr(modbot.hashes, "HASHING", 2)
        before, fetched = sweep_of_a_new_post("before")
    assert before["rule"] is None and before["hash_match"] is None
    assert "below what Meta's reference keeps" in before["image"]["hashes_not_taken"]["pdq"]
    assert len(fetched) == 1

    # now: the file is downloaded once more (the hashing code changed), and matched
    after, fetched = sweep_of_a_new_post("after")
    assert len(fetched) == 1
    assert after["rule"] == "look-alike"
    assert after["hash_match"] == {"look-alikes-pdq": "pdq distance 0"}
    assert after["image"].get("hashes_not_taken", {}) == {}
