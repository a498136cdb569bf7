"""`modbot undo --yes` of a ban an admin or moderator already lifted by hand (lemmy-ui):
no needless unban is sent, the undo says and records "already unbanned by hand", and
the bot's own record of its ban counts it as lifted, so that the person's next offence
is banned anew. Before, the undo sent nothing (site ban) but left the bot's record of
its ban in force: the person's next known-bad post found it "already done" and went
unbanned; a community ban, read without the modlog (--no-modlog-check), was even
lifted again by a needless unban. Through `modbot.cli.main` against the fake Lemmy
0.19 and 1.0."""

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
    if: {hash_list: known-bad, type: post}
    then:
      remove: "known abusive image"
      ban: {scope: SCOPE, duration: permanent, remove_data: false, reason: "known abusive"}
"""

pytestmark = pytest.mark.both_lemmys


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def as_person(lemmy, name: str):
    """A human admin or moderator acting in Lemmy (lemmy-ui's requests)."""
    env = {"LEMMY_URL": lemmy.url, "LEMMY_USERNAME": name, "LEMMY_PASSWORD": PASSWORD}
    return connect(
        Settings.from_env(env),
        requests_per_minute=60_000,
        timeout=10,
        read_only=False,
        api_version=lemmy.api_version,
    )


def bot_bans(lemmy, path: str) -> list[bool]:
    """The `ban` field of each ban or unban the bot's account sent there."""
    path = lemmy.api_path(path)
    return [
        bool((r.json or {}).get("ban"))
        for r in lemmy.requests
        if r.path == path and r.user == "modbot"
    ]


@pytest.fixture
def bot(fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys):
    def make(scope: str) -> tuple[Scenario, object, int]:
        s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES.replace("SCOPE", scope))
        monkeypatch.chdir(tmp_path)
        for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
            monkeypatch.setenv(name, s.env[name])
        monkeypatch.setenv("MODBOT_RULES", s.env["MODBOT_RULES"])
        (post,) = s.add_bad_posts(1)
        assert main(["run", "--once"]) == 0
        capsys.readouterr()
        code, out = run(capsys, "audit", "--json", "--item", f"post:{post.id}")
        assert code == 0, out
        (record,) = json.loads(out)["records"]
        return s, post, record["id"]

    return make


def offends_again(s: Scenario, spammer) -> object:
    """The same person posts another known-bad image."""
    s.list_bad(1)
    upload = s.lemmy.add_upload(spammer, s._image(1))
    s.posts.append(None)
    return s.lemmy.add_post(s.lemmy.cast.pics, spammer, name="again", url=upload.url)


def undo_actions(capsys, decision: int) -> list[dict]:
    code, out = run(capsys, "audit", "--json", "--action", "unban")
    assert code == 0, out
    return [
        a
        for r in json.loads(out)["records"]
        if r.get("undo_of") == decision
        for a in r["actions"]
        if a["action"] == "unban"
    ]


def test_a_site_ban_an_admin_lifted_by_hand_is_recorded_and_the_next_offence_banned(bot, capsys):
    s, post, decision = bot("site")
    spammer = s.lemmy.person(post.creator_id)
    assert spammer.banned
    as_person(s.lemmy, "admin").unban_site(spammer.id, "my mistake", restore_data=False)
    assert not spammer.banned

    s.lemmy.clear_requests()
    code, out = run(capsys, "undo", str(decision))
    assert code == 0 and "already unbanned by hand" in out, out
    assert s.lemmy.mutating_requests() == [], out

    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0, out
    assert "already unbanned by hand" in out and "FAILED" not in out, out
    assert bot_bans(s.lemmy, "/api/v3/user/ban") == [], "no needless unban"
    assert not s.lemmy.post(post.id).removed, out
    (unban,) = undo_actions(capsys, decision)
    assert unban["status"] == "done" and "already unbanned by hand" in unban["detail"], unban

    # the bot's ban counts as lifted: the person's next known-bad post bans them anew
    second = offends_again(s, spammer)
    assert main(["run", "--once"]) == 0
    assert s.lemmy.post(second.id).removed
    assert s.lemmy.person(spammer.id).banned, "banned anew, not taken as 'already done'"
    assert bot_bans(s.lemmy, "/api/v3/user/ban") == [True]

    # the same undo again: that new ban is another decision's, nothing recorded twice
    capsys.readouterr()
    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0 and "FAILED" not in out, out
    assert len(undo_actions(capsys, decision)) == 1
    assert bot_bans(s.lemmy, "/api/v3/user/ban") == [True] and s.lemmy.person(spammer.id).banned


@pytest.mark.parametrize("modlog", [True, False], ids=["modlog", "no-modlog-check"])
def test_a_community_ban_a_moderator_lifted_by_hand_is_not_lifted_again(bot, capsys, modlog):
    s, post, decision = bot("community")
    spammer = s.lemmy.person(post.creator_id)
    path = "/api/v3/community/ban_user"
    assert bot_bans(s.lemmy, path) == [True]
    community = s.lemmy.post(post.id).community_id
    as_person(s.lemmy, "admin").unban_community(
        spammer.id, community, "my mistake", restore_data=False
    )
    flags = [] if modlog else ["--no-modlog-check"]

    code, out = run(capsys, "undo", str(decision), "--yes", *flags)
    assert code == 0, out
    assert "already unbanned by hand" in out and "FAILED" not in out, out
    assert bot_bans(s.lemmy, path) == [True], "no needless unban"
    (unban,) = undo_actions(capsys, decision)
    assert unban["status"] == "done" and "already unbanned by hand" in unban["detail"], unban

    second = offends_again(s, spammer)
    assert main(["run", "--once"]) == 0
    assert s.lemmy.post(second.id).removed
    assert bot_bans(s.lemmy, path) == [True, True], "banned anew, not taken as 'already done'"
