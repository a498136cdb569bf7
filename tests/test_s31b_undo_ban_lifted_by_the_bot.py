"""`modbot undo --yes` of a community ban the bot itself lifted already, with no record
of it in the state file (the state was restored from a backup taken before that undo),
when the decision's post cannot show the ban (an admin purged it since): the modlog's
newest line on the person is the bot's own unban. Before, that undo said "skipped ...
lifted the ban already" and left the bot's record of its ban in force: the person's
next offence in the community found it "already done" and went unbanned. Now it is
recorded as "already unbanned by the bot", nothing sent, and the bot's ban counts as
lifted, as an unban by hand does (8d3e61b). Through `modbot.cli.main` against the fake
Lemmy 0.19 and 1.0."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

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
      ban: {scope: community, duration: permanent, remove_data: false, reason: "known abusive"}
"""

pytestmark = pytest.mark.both_lemmys
BAN = "/api/v3/community/ban_user"


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def as_admin(lemmy):
    env = {"LEMMY_URL": lemmy.url, "LEMMY_USERNAME": "admin", "LEMMY_PASSWORD": PASSWORD}
    return connect(
        Settings.from_env(env),
        requests_per_minute=60_000,
        timeout=10,
        read_only=False,
        api_version=lemmy.api_version,
    )


def bot_bans(lemmy) -> list[bool]:
    path = lemmy.api_path(BAN)
    return [
        bool((r.json or {}).get("ban"))
        for r in lemmy.requests
        if r.path == path and r.user == "modbot"
    ]


def backup(state: Path) -> Path:
    copy = state.with_name("backup.sqlite3")
    src, dst = sqlite3.connect(state), sqlite3.connect(copy)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return copy


def restore(state: Path, copy: Path) -> None:
    for suffix in ("-wal", "-shm"):
        state.with_name(state.name + suffix).unlink(missing_ok=True)
    state.write_bytes(copy.read_bytes())


def test_a_ban_the_bot_lifted_with_no_record_of_it_counts_as_lifted(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    monkeypatch.setenv("MODBOT_RULES", s.env["MODBOT_RULES"])
    (post,) = s.add_bad_posts(1)
    assert main(["run", "--once"]) == 0
    spammer = s.lemmy.person(post.creator_id)
    capsys.readouterr()
    code, out = run(capsys, "audit", "--json", "--item", f"post:{post.id}")
    (record,) = json.loads(out)["records"]
    decision = record["id"]
    assert bot_bans(s.lemmy) == [True]
    state = Path(s.state)
    copy = backup(state)

    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0 and bot_bans(s.lemmy) == [True, False], out
    as_admin(s.lemmy).purge_post(post.id, "gone anyway")
    restore(state, copy)  # the undo's records are lost

    code, out = run(capsys, "undo", str(decision))
    assert code == 0 and "would record as done" in out, out
    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0, out
    assert "already unbanned by the bot" in out and "FAILED" not in out, out
    assert bot_bans(s.lemmy) == [True, False], "no needless unban"

    # the bot's ban counts as lifted: the person's next known-bad post bans them anew
    s.list_bad(1)
    upload = s.lemmy.add_upload(spammer, s._image(1))
    s.posts.append(None)
    second = s.lemmy.add_post(s.lemmy.cast.pics, spammer, name="again", url=upload.url)
    assert main(["run", "--once"]) == 0
    assert s.lemmy.post(second.id).removed
    assert bot_bans(s.lemmy) == [True, False, True], "banned anew, not taken as 'already done'"
