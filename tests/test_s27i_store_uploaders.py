"""`modbot sweep --store` knows the uploader of every upload of Lemmy 1.0's media list,
not of its newest ``MEDIA_KEPT`` only.

Before: the store walk's alias -> uploader index was filled from the poll's capped
``uploads`` (the newest 5,000 of 1.0's unordered list), so each older upload's file had
no uploader: a ``ban`` fell back to whoever posted it (nobody, for an upload never
posted), and ``--local`` counted it as federated. Now the index is read through
``upload_pages`` (every page of the list by its cursor, bounded as the sweep's uploads
phase is). The cap is lowered here so that a few pages exceed it."""

from __future__ import annotations

import io
import json
from datetime import timedelta

from PIL import Image
from support.bot import sha
from support.cli import bot_environment
from support.policies import write_rules

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from fakelemmy.state import now
from modbot.cli import main
from modbot.lemmy import v4

RULES = """
  - name: known abusive file
    if: {type: file, hash_list: known-bad}
    then:
      ban: {scope: site, duration: permanent, remove_data: false, reason: "known abusive"}
"""


def _jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16 + seed % 40, 16 + seed // 40), (seed * 7 % 256, 60, 90)).save(out, "JPEG")
    return out.getvalue()


def test_a_store_sweep_knows_the_uploader_of_every_upload_past_the_cap(
    tiny, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(v4, "MEDIA_KEPT", 20)
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        start = now() - timedelta(days=3)
        files = [_jpeg(i) for i in range(60)]  # 2 pages of the media list (50 a page)
        for i, data in enumerate(files):
            lemmy.add_upload(cast.alice, data, published=start + timedelta(minutes=i))
        rules = write_rules(tmp_path, lemmy, tiny, known_bad=map(sha, files), rules=RULES)
        monkeypatch.chdir(tmp_path)
        bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
        lemmy.clear_requests()

        argv = ["sweep", "--store", "--dry-run", "--files-per-second", "0"]
        assert main([*argv, "--local", "--report", "local.json"]) == 0
        doc = json.loads((tmp_path / "local.json").read_text())
        decided = {d["image"]["sha256"]: d for d in doc["decisions"]}
        # --local: the files Lemmy names a local uploader for, every upload's
        assert set(decided) == set(map(sha, files)), f"{60 - len(decided)} taken for federated"
        for d in decided.values():
            (ban,) = [a for a in d["actions"] if a["action"] == "ban"]
            assert ban["detail"].endswith("(as uploader)"), ban
            assert (d["item"]["author_id"], d["item"]["author_role"]) == (cast.alice.id, "uploader")
        assert lemmy.mutating_requests() == []
