"""`modbot report --rescan` shows the posts a run saw and decided that Lemmy's listings no
longer show: a post the bot (or a moderator) removed is hidden from every post listing
on Lemmy 0.19, admins' too, and its comments with it. The rescan reads them by id and
decides them as the run did; one purged since is counted, and said, as gone."""

from __future__ import annotations

import json

import httpx
from support.bot import remote_photo, sha
from support.cli import bot_environment
from support.policies import BAD, write_rules

from fakelemmy.scenarios import PASSWORD
from modbot.cli import main

RULES = "\n  - name: bad\n    if: {hash_list: known-bad}\n    then: {remove: bad}\n"


def _items(doc):
    return {
        (d["item"]["kind"], d["item"]["id"]): [(a["action"], a["status"]) for a in d["actions"]]
        for d in doc["decisions"]
    }


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


def _ban_removing_content(lemmy, person_id):
    """An admin bans with "remove their content": 0.19 removes the posts and writes no
    modlog line for each, so the walk cannot find them through the modlog."""
    with httpx.Client(base_url=lemmy.url, timeout=10) as admin:
        login = {"username_or_email": "admin", "password": PASSWORD}
        jwt = admin.post("/api/v3/user/login", json=login).json()["jwt"]
        done = admin.post(
            "/api/v3/user/ban",
            json={"person_id": person_id, "ban": True, "remove_data": True, "reason": "spam"},
            headers={"Authorization": f"Bearer {jwt}"},
        )
    assert done.status_code == 200, done.text


def test_a_rescan_lists_the_posts_a_run_removed_as_the_run_did(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = remote_photo(lemmy, photos, BAD)
    fine = remote_photo(lemmy, photos, tiny.others[0], "fine.jpg")
    removed = lemmy.add_post(cast.pics, cast.alice, name="bad", url=bad)
    under = lemmy.add_comment(removed, cast.bob, content=f"look ![x]({fine})")
    kept = lemmy.add_post(cast.pics, cast.alice, name="ok", url=fine)
    purged = lemmy.add_post(cast.pics, cast.bob, name="gone", url=fine)
    carol = lemmy.add_person("carol")
    banned = lemmy.add_post(cast.pics, carol, name="by carol", url=fine)
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    assert main(["run", "--once", "--report", "run.json"]) == 0
    run = _items(json.loads((tmp_path / "run.json").read_text()))
    assert run[("post", removed.id)] == [("remove", "done")]
    assert lemmy.post(removed.id).removed
    _purge(lemmy, purged.id)  # an admin purges one since
    _ban_removing_content(lemmy, carol.id)  # and bans one author with their posts
    assert lemmy.post(banned.id).removed
    capsys.readouterr()
    sent = len(lemmy.mutating_requests())

    assert main(["report", "--rescan", "--since", "1d", "--out", "rescan.json"]) == 0
    doc = json.loads((tmp_path / "rescan.json").read_text())
    rescan = _items(doc)
    # every item the run decided, but the purged post, and the removed one decided again
    assert set(rescan) == set(run) - {("post", purged.id)}
    assert ("post", kept.id) in rescan and ("comment", under.id) in rescan
    (again,) = [
        d
        for d in doc["decisions"]
        if (d["item"]["kind"], d["item"]["id"])
        == (
            "post",
            removed.id,
        )
    ]
    assert again["rule"] == "bad"
    assert [(a["action"], a["status"]) for a in again["actions"]] == [("remove", "already_done")]
    assert again["actions"][0]["detail"].startswith("already done: remove post")
    assert doc["summary"]["complete"] is True
    assert ("post", banned.id) in rescan
    # the walk reaches the post a moderator removed, and its comment, itself since
    # 95c76e0 (through the modlog's removals), and the post the ban removed since the
    # walk reads a banned person's removed posts (GET /user, as 0.19 lists them to an
    # admin); the purged one is gone
    assert doc["summary"]["not_listed"] == {"read_by_id": 0, "gone": 1}
    assert "1 recorded posts and comments of the window are gone" in doc["summary"]["source"]
    out = capsys.readouterr().out
    assert "1 recorded posts and comments of the window are gone" in out, out
    assert len(lemmy.mutating_requests()) == sent  # a dry run: nothing changed
