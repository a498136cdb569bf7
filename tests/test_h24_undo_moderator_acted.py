"""`modbot undo` leaves alone what a moderator or admin did after the bot: a post the
bot removed, restored by a moderator and removed again by them (their own decision), is
not restored; a ban the bot placed, lifted by an admin and placed again by them, is not
lifted (a permanent ban placed again permanently looks the same to `GET /user`: only
Lemmy's modlog tells who acted last). The preview says so too, with zero changing
requests. When the modlog cannot be read, nothing is undone blind. Through
`modbot.cli.main`, against the fake Lemmy 0.19 and 1.0."""

from __future__ import annotations

import json

import pytest
from support.acting import Scenario

from fakelemmy.scenarios import PASSWORD
from modbot.cli import main
from modbot.config.settings import Settings
from modbot.lemmy import connect

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      ban: {scope: site, duration: permanent, remove_data: false, reason: "known abusive"}
"""

pytestmark = pytest.mark.both_lemmys


@pytest.fixture
def acted(fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys):
    """The bot removed a known-bad post and banned its author; returns (scenario, post,
    decision id)."""
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    for name in ("MODBOT_RULES", "PICTRS_URL", "PICTRS_API_KEY"):
        monkeypatch.setenv(name, s.env[name])
    (post,) = s.add_bad_posts(1)
    assert main(["run", "--once"]) == 0
    assert fake_lemmy.post(post.id).removed and fake_lemmy.person(post.creator_id).banned
    capsys.readouterr()
    assert main(["audit", "--json", "--item", f"post:{post.id}"]) == 0
    (record,) = json.loads(capsys.readouterr().out)["records"]
    return s, post, record["id"]


def as_person(lemmy, name: str):
    """A human moderator or admin acting in Lemmy (lemmy-ui's requests)."""
    env = {"LEMMY_URL": lemmy.url, "LEMMY_USERNAME": name, "LEMMY_PASSWORD": PASSWORD}
    return connect(
        Settings.from_env(env),
        requests_per_minute=60_000,
        timeout=10,
        read_only=False,
        api_version=lemmy.api_version,
    )


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def sent(lemmy, path: str, field: str, value: bool) -> list:
    """What the bot's account sent there (not the human moderators' requests)."""
    path = lemmy.api_path(path)
    return [
        r
        for r in lemmy.requests
        if r.path == path and r.user == "modbot" and (r.json or {}).get(field) is value
    ]


def undo_records(capsys, post) -> list[dict]:
    assert main(["audit", "--json", "--item", f"post:{post.id}"]) == 0
    records = json.loads(capsys.readouterr().out)["records"]
    return [r for r in records if r.get("undo_of")]


def test_a_moderators_own_removal_after_the_bots_is_left_as_it_is(acted, capsys):
    s, post, decision = acted
    mod = as_person(s.lemmy, "mod")
    mod.restore_post(post.id, "not abusive, looking again")
    mod.remove_post(post.id, "removed: off topic")

    s.lemmy.clear_requests()
    code, out = run(capsys, "undo", str(decision))
    assert code == 0, out
    assert f"would restore post {post.id}" not in out, out
    assert "mod removed post" in out and "left as it is" in out, out
    assert "would lift the ban" in out, out  # the bot's ban is still the bot's
    assert s.lemmy.mutating_requests() == [], out
    assert any(r.path == s.lemmy.api_path("/api/v3/modlog") for r in s.lemmy.requests)

    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0, out
    assert s.lemmy.post(post.id).removed, out
    assert sent(s.lemmy, "/api/v3/post/remove", "removed", False) == [], out
    assert "mod removed post" in out and "left as it is" in out, out
    assert not s.lemmy.person(post.creator_id).banned, out
    (undo,) = undo_records(capsys, post)
    statuses = {a["action"]: a["status"] for a in undo["actions"]}
    assert statuses == {"restore": "skipped", "unban": "done"}, undo
    (restore,) = [a for a in undo["actions"] if a["action"] == "restore"]
    assert "mod" in restore["detail"] and "left as it is" in restore["detail"]

    # again: the same finding is not recorded twice, nothing is sent
    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0 and "left as it is" in out, out
    assert sent(s.lemmy, "/api/v3/post/remove", "removed", False) == []
    assert len(undo_records(capsys, post)) == 1


def test_a_ban_an_admin_lifted_and_placed_again_is_left_as_it_is(acted, capsys):
    s, post, decision = acted
    admin = as_person(s.lemmy, "admin")
    admin.unban_site(post.creator_id, "looking into it", restore_data=False)
    admin.ban_site(post.creator_id, "my own ban", expires=None, remove_data=False)

    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0, out
    assert s.lemmy.person(post.creator_id).banned, out
    assert sent(s.lemmy, "/api/v3/user/ban", "ban", False) == [], out
    assert "admin banned person" in out and "left as it is" in out, out
    if s.lemmy.api_version == "v3":
        # the admin's ban came after the bot's removal: it may have removed all of theirs
        # (0.19's modlog does not say), so the post is left removed too
        assert s.lemmy.post(post.id).removed and "banned its author" in out, out
    else:  # 1.0's says it: the ban left their content (no line on the post), restored
        assert not s.lemmy.post(post.id).removed and "banned its author" not in out, out


def test_a_modlog_that_cannot_be_read_undoes_nothing_blind(acted, capsys):
    s, post, decision = acted
    path = s.lemmy.api_path("/api/v3/modlog")
    s.lemmy.fail_next(path, status=400, error="unknown", times=2)
    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 1, out
    assert "cannot read Lemmy's modlog" in out, out
    assert s.lemmy.post(post.id).removed and s.lemmy.person(post.creator_id).banned, out
    assert sent(s.lemmy, "/api/v3/post/remove", "removed", False) == []
    assert sent(s.lemmy, "/api/v3/user/ban", "ban", False) == []

    code, out = run(capsys, "undo", str(decision), "--yes")  # readable again
    assert code == 0, out
    assert not s.lemmy.post(post.id).removed and not s.lemmy.person(post.creator_id).banned


def test_without_the_modlog_check_when_the_admin_says_so(acted, capsys):
    s, post, decision = acted
    s.lemmy.fail_next(s.lemmy.api_path("/api/v3/modlog"), status=404, error="unknown", times=5)
    code, out = run(capsys, "undo", str(decision), "--yes", "--no-modlog-check")
    assert code == 0, out
    assert not s.lemmy.post(post.id).removed and not s.lemmy.person(post.creator_id).banned
    modlog = s.lemmy.api_path("/api/v3/modlog")
    assert not any(r.path == modlog for r in s.lemmy.requests)
