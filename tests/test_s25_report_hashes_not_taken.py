"""`modbot report` (from the record) decides again an image whose PDQ the run could not
take, as the run did, instead of refusing it as if a newer hash list needed it: a hash
kind not taken is recorded with why (``image.hashes_not_taken``), a flat picture's
low-quality PDQ included."""

from __future__ import annotations

import io
import json

from PIL import Image
from support.cli import bot_environment
from support.policies import PROMPT, _policy_head, _remote
from test_s25l_hashes_not_taken import RULES, post, recorded

import modbot.pdq
from modbot.cli import main
from modbot.hashes import hashes_of


def flat_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (90, 120, 200)).save(out, "PNG")
    return out.getvalue()


def test_report_decides_again_what_the_run_decided_without_a_pdq(
    fake_lemmy, tiny, photos, tmp_path, monkeypatch
):
    listed = photos[tiny.others[0]]
    (tmp_path / "phash.txt").write_text(hashes_of(listed, ["phash"])["phash"] + "\n")
    (tmp_path / "pdq.txt").write_text(hashes_of(listed, ["pdq"])["pdq"] + "\n")
    concepts = f'\nconcepts:\n  probe: {{prompts: ["{PROMPT}"], threshold: {tiny.threshold!r}}}'
    head = _policy_head(tiny.checkpoint, tmp_path, (), "", concepts)
    rules = tmp_path / "rules.yaml"
    rules.write_text(head + RULES.format(remote=_remote(fake_lemmy)))
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, fake_lemmy, tmp_path / "state.sqlite3", rules)

    real = modbot.pdq.pdq_hash

    def pdq_hash(image):
        if image == listed:
            raise ValueError("pdqhash: buffer dimensions do not match")
        return real(image)

    monkeypatch.setattr(modbot.pdq, "pdq_hash", pdq_hash)
    on_list = post(fake_lemmy, "on the list", listed)
    flat = post(fake_lemmy, "a flat picture", flat_png())
    assert main(["run", "--once", "--dry-run"]) == 0
    records = recorded(tmp_path / "state.sqlite3")
    assert "quality" in records[flat]["image"]["hashes_not_taken"]["pdq"]
    assert main(["report", "--since", "1d", "--out", "report.json"]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    decided = {d["item"]["id"]: d for d in report["decisions"] if d["item"]["kind"] == "post"}
    assert not decided[on_list].get("not_redecided"), decided[on_list]
    assert decided[on_list]["rule"] == "look-alike"  # its pHash still matches, as in the run
    assert not decided[flat].get("not_redecided"), decided[flat]


def test_a_lying_content_length_is_said_in_the_record_and_the_report(
    fake_lemmy, tiny, photos, tmp_path, monkeypatch
):
    """A remote server announcing 200 MB and sending a whole photo: the photo is judged
    (0bfa1bf) and its decision says the server's length was wrong."""
    concepts = f'\nconcepts:\n  probe: {{prompts: ["{PROMPT}"], threshold: {tiny.threshold!r}}}'
    head = _policy_head(tiny.checkpoint, tmp_path, (), "", concepts)
    rules = tmp_path / "rules.yaml"
    rules.write_text(head + RULES.format(remote=_remote(fake_lemmy)))
    (tmp_path / "phash.txt").write_text("")
    (tmp_path / "pdq.txt").write_text("")
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, fake_lemmy, tmp_path / "state.sqlite3", rules)
    photo = photos[tiny.flagged]
    url = fake_lemmy.add_remote_behaviour("/liar.jpg", photo, content_length=200 * 1024 * 1024)
    cast = fake_lemmy.cast
    lied = fake_lemmy.add_post(cast.pics, cast.bob, name="a liar", url=url).id
    assert main(["run", "--once", "--dry-run", "--report", "run.html"]) == 0
    decision = recorded(tmp_path / "state.sqlite3")[lied]
    said = f"announced {200 * 1024 * 1024} bytes and sent {len(photo)}"
    assert said in decision["image"]["ended_early"]
    assert decision["rule"] == "probe"  # judged: the verdict decided it
    assert said in (tmp_path / "run.html").read_text()
