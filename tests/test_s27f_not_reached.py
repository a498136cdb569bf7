"""What Lemmy's listings keep from a sweep is said, not silently skipped.

Before: on Lemmy 0.19 (1.0 too) the posts their authors deleted and the posts of deleted
communities are listed to no one, admins included; 0.19's modlog is read no further
than page 100 (only a log line said so); and 0.19's ``GET /user``, the one listing of the
posts a site ban removed, follows the bot account's ``show_nsfw`` with no query
override (0.19.20 ``read_person.rs`` builds its ``PostQuery`` without ``show_nsfw``), so
a dry run with that setting off missed the NSFW ones. None of it reached the sweep's
summary or ``modbot doctor``. Now the sweep's closing lines state once what it could not
reach (with how far back the modlog reached), and doctor says it, each pointing to
``modbot sweep --store`` (pict-rs' whole store, which holds their files)."""

from __future__ import annotations

import json
import re

import httpx
from support.bot import remote_photo
from support.cli import bot_environment
from support.policies import write_rules

from fakelemmy.scenarios import PASSWORD
from modbot.cli import main
from modbot.lemmy import v3


class _Admin:
    """An admin's session on the fake (one login: Lemmy rate-limits logins)."""

    def __init__(self, lemmy):
        self.http = httpx.Client(base_url=lemmy.url, timeout=10)
        login = {"username_or_email": "admin", "password": PASSWORD}
        jwt = self.http.post("/api/v3/user/login", json=login).json()["jwt"]
        self.http.headers["Authorization"] = f"Bearer {jwt}"

    def __call__(self, path, body):
        done = self.http.post(path, json=body)
        assert done.status_code == 200, done.text


def _decided(doc) -> set[tuple[str, int]]:
    return {(d["item"]["kind"], d["item"]["id"]) for d in doc["decisions"]}


def _gaps(out: str) -> str:
    lines = [line for line in out.splitlines() if "not reached through Lemmy's listings" in line]
    assert len(lines) == 1, out  # said once
    return lines[0]


def test_the_fakes_get_user_follows_show_nsfw_with_no_query_override(fake_lemmy):
    """As real 0.19: an admin whose show_nsfw is off gets no NSFW posts from GET /user,
    removed or not, whatever the query says."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="nsfw", nsfw=True)
    with httpx.Client(base_url=lemmy.url, timeout=10) as bot:
        login = {"username_or_email": "modbot", "password": PASSWORD}
        jwt = bot.post("/api/v3/user/login", json=login).json()["jwt"]
        auth = {"Authorization": f"Bearer {jwt}"}
        query = {"person_id": cast.alice.id, "show_nsfw": "true"}
        shown = bot.get("/api/v3/user", params=query, headers=auth).json()["posts"]
        assert shown == []
        lemmy.person(cast.bot.id).show_nsfw = True
        shown = bot.get("/api/v3/user", params=query, headers=auth).json()["posts"]
        assert [p["post"]["id"] for p in shown] == [post.id]


def test_a_dry_run_sweep_of_0_19_says_what_its_listings_kept_from_it(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    fine = remote_photo(lemmy, photos, tiny.others[0], "fine.jpg")
    carol = lemmy.add_person("carol")
    hidden = lemmy.add_post(cast.pics, carol, name="nsfw", url=fine, nsfw=True)
    admin = _Admin(lemmy)
    admin("/api/v3/user/ban", {"person_id": carol.id, "ban": True, "remove_data": True})
    # eleven removals: the modlog's page limit, scaled down to 2 pages of 5, is passed
    for i in range(11):
        post = lemmy.add_post(cast.pics, cast.alice, name=f"r{i}")
        admin("/api/v3/post/remove", {"post_id": post.id, "removed": True})
    admin.http.close()
    lemmy.clear_requests()
    monkeypatch.setattr(v3, "PAGE", 5)
    monkeypatch.setattr(v3, "MAX_PAGE", 2)
    rules = write_rules(tmp_path, lemmy, tiny)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)

    assert main(["sweep", "--dry-run", "--report", "sweep.json"]) == 0
    said = _gaps(capsys.readouterr().out)
    assert "posts their authors deleted, and their comments" in said
    assert "posts in deleted communities, and their comments" in said
    assert re.search(
        r"the comments of posts moderators removed before \d{4}-\d\d-\d\d \d\d:\d\d UTC: "
        r"Lemmy 0\.19 lists no further than page 2 \(10 post removals in the modlog\)",
        said,
    ), said
    assert "NSFW posts a site ban removed" in said and "show_nsfw" in said
    assert "`modbot sweep --store` walks pict-rs' whole store" in said
    assert said.count("posts their authors deleted") == 1
    doc = json.loads((tmp_path / "sweep.json").read_text())
    assert any("not reached through Lemmy's listings" in w for w in doc["summary"]["warnings"])
    assert ("post", hidden.id) not in _decided(doc)  # the dry run could not read it: said
    assert lemmy.mutating_requests() == []

    # a live sweep turns show_nsfw on first: the NSFW post the ban removed is read
    monkeypatch.setattr(v3, "MAX_PAGE", 100)
    assert main(["sweep", "--report", "live.json"]) == 0
    assert ("post", hidden.id) in _decided(json.loads((tmp_path / "live.json").read_text()))
    said = _gaps(capsys.readouterr().out)
    assert "NSFW posts a site ban removed" not in said
    assert "posts their authors deleted" in said


def test_doctor_says_what_lemmys_listings_never_show_and_where_it_is_reached(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    rules = write_rules(tmp_path, fake_lemmy, tiny)
    bot_environment(monkeypatch, fake_lemmy, tmp_path / "state.sqlite3", rules)
    main(["--env-file", "/dev/null", "doctor", "--timeout", "3"])
    found = {}
    for line in capsys.readouterr().out.splitlines()[:-1]:
        word, check, message = line.split(None, 2)
        found[check] = (word, message)
    word, said = found["pictrs"]
    assert word == "warn"
    assert "Lemmy's listings never show posts their authors deleted" in said
    assert "posts in deleted communities" in said
    assert "uploads past the media list's newest 5000" in said
    assert "`modbot sweep --store` walks pict-rs' whole store" in said
    assert "set PICTRS_URL" not in said or "PICTRS_URL and PICTRS_API_KEY are not set" in said
    word, said = found["account"]
    assert "the NSFW posts a site ban removed (GET /user" in said
