"""Hash lists of every kind in rules.yaml (sha256, md5, sha1, phash, pdq; plain files and
python-threatexchange files), through `modbot report` and `modbot check-rules` against
the fake Lemmy: what matches, how, and every hash taken in the decision record."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from PIL import Image
from support.bot import Bot

from modbot.hashes import HASH_KINDS


def reencode(data: bytes, scale: float = 0.5, quality: int = 60) -> bytes:
    """What another instance's pict-rs may serve: resized, recompressed, metadata gone."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    img = img.resize((int(img.width * scale), int(img.height * scale)), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def write_rules(directory: Path, lemmy, checkpoint: Path, lists: str, names: str) -> Path:
    remote = lemmy.remote_url.split("//", 1)[1]
    path = directory / "rules.yaml"
    path.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
hash_lists:
{lists}
fetch: {{allow_hosts: ["{remote}"]}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
safety_valve: {{max_destructive_actions_per_hour: 1000}}
rules:
  - name: known abusive image
    if: {{hash_list: [{names}]}}
    then: {{remove: "Known abusive image"}}
""")
    return path


def test_md5_and_threatexchange_pdq_lists_match_and_every_hash_is_recorded(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    pdq = HASH_KINDS["pdq"]
    # An industry MD5 list (md5sum output) and a python-threatexchange local_file with
    # a PDQ hash and a video hash modbot does not read.
    (tmp_path / "hotline.md5").write_text(f"{hashlib.md5(photos['china']).hexdigest()}  x.jpg\n")
    (tmp_path / "industry.te").write_text(
        f"pdq {pdq.compute(photos['coffee']).hex}\nvideo_md5 {'0' * 32}\n"
    )
    rules = write_rules(
        tmp_path,
        lemmy,
        tiny_checkpoint,
        "  hotline: {kind: md5, file: hotline.md5}\n"
        "  industry: {kind: pdq, file: industry.te, format: threatexchange}",
        "hotline, industry",
    )
    copy = reencode(photos["coffee"])
    posts = {
        name: lemmy.add_post(
            cast.pics, cast.bob, name=name, url=lemmy.add_remote_file(f"{name}.jpg", data)
        )
        for name, data in (
            ("china", photos["china"]),
            ("coffee-copy", copy),
            ("astronaut", photos["astronaut"]),
        )
    }
    bot = Bot(lemmy, tmp_path, rules)

    checked = bot("check-rules")
    assert (
        "industry.te:2: warning: hash list 'industry': video_md5 left out: an MD5 of a video"
        in (checked.stdout)
    )
    assert "industry (1 pdq <= 31)" in checked.stdout and "hotline (1 md5)" in checked.stdout

    bot("report", "--since", "7d", "--out", "r.json")
    doc = json.loads((tmp_path / "r.json").read_text())
    by_post = {d["item"]["id"]: d for d in doc["decisions"]}
    china, found_copy, other = (by_post[posts[n].id] for n in ("china", "coffee-copy", "astronaut"))

    assert china["hash_match"] == {"hotline": "md5"}
    assert china["rule"] == "known abusive image"
    match = found_copy["hash_match"]["industry"]
    assert match.startswith("pdq distance ") and 0 < int(match.split()[-1]) <= 31
    assert found_copy["rule"] == "known abusive image"
    assert other["hash_match"] is None and other["rule"] is None
    # Every hash taken, once: the SHA-256 always, the kinds the lists need; no other.
    for decision, data in ((china, photos["china"]), (found_copy, copy)):
        assert decision["image"]["hashes"] == {
            "sha256": hashlib.sha256(data).hexdigest(),
            "md5": hashlib.md5(data).hexdigest(),
            "pdq": pdq.compute(data).hex,
        }


def test_check_rules_refuses_what_a_kind_cannot_be(fake_lemmy, tiny_checkpoint, tmp_path):
    (tmp_path / "a.md5").write_text(f"{hashlib.md5(b'a').hexdigest()}\n")
    (tmp_path / "b.pdq").write_text(f"{'f' * 64}\n")
    rules = write_rules(
        tmp_path,
        fake_lemmy,
        tiny_checkpoint,
        "  a: {kind: md5, file: a.md5, format: threatexchange}\n"
        "  b: {kind: pdq, file: b.pdq, max_distance: 90}\n"
        "  c: {kind: sha1, file: a.md5}",
        "a, b, c",
    )
    done = Bot(fake_lemmy, tmp_path, rules)("check-rules", rc=1)
    out = done.stdout.replace(f"{tmp_path}/", "").splitlines()
    assert out[0] == (
        "rules.yaml:5: hash list 'a': a python-threatexchange file (format: threatexchange) "
        "holds pdq hashes of photos, not md5 (its md5 and sha256 types are hashes of videos)"
    )
    assert out[1] == (
        "rules.yaml:6: hash list 'b': max_distance 90 is more than a pdq list allows (64): "
        "that far, unrelated images match"
    )
    assert out[2].startswith("a.md5:1: expected a SHA-1 (40 hex digits), got ")
    assert out[2].endswith("(this looks like an MD5: put it in a list of kind md5)")
