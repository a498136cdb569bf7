"""`modbot report --rescan` says how many recorded posts and comments it read by id
because Lemmy's listings no longer show them; when it read none (only purged ones are
missing), that sentence is left out rather than saying "0 posts and comments ... were
not in Lemmy's listings", which reads as if something had been looked for and found."""

from __future__ import annotations

import json

import httpx
from support.bot import remote_photo, sha
from support.cli import bot_environment
from support.policies import BAD, write_rules

from fakelemmy.scenarios import PASSWORD
from modbot.cli import main

RULES = "\n  - name: bad\n    if: {hash_list: known-bad}\n    then: {remove: bad}\n"


def _purge(lemmy, post_id):
    with httpx.Client(base_url=lemmy.url, timeout=10) as admin:
        login = {"username_or_email": "admin", "password": PASSWORD}
        jwt = admin.post("/api/v3/user/login", json=login).json()["jwt"]
        done = admin.post(
            "/api/v3/admin/purge/post",
            json={"post_id": post_id},
            headers={"Authorization": f"Bearer {jwt}"},
        )
    assert done.status_code == 200, done.text


def test_a_rescan_that_read_nothing_by_id_says_only_what_is_gone(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    fine = remote_photo(lemmy, photos, tiny.others[0], "fine.jpg")
    lemmy.add_post(cast.pics, cast.alice, name="ok", url=fine)
    purged = lemmy.add_post(cast.pics, cast.bob, name="gone", url=fine)
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules)
    assert main(["run", "--once"]) == 0
    _purge(lemmy, purged.id)
    capsys.readouterr()

    assert main(["report", "--rescan", "--since", "1d", "--out", "rescan.json"]) == 0
    doc = json.loads((tmp_path / "rescan.json").read_text())
    assert doc["summary"]["not_listed"] == {"read_by_id": 0, "gone": 1}
    source = doc["summary"]["source"]
    assert source.startswith("1 recorded posts and comments of the window are gone"), source
    assert "were not in Lemmy's listings" not in source
    out = capsys.readouterr().out
    assert "1 recorded posts and comments of the window are gone" in out, out
    assert "were not in Lemmy's listings" not in out, out
