"""`modbot undo` beside the daemon acting on the same state: undo reads its decisions,
the daemon's next cycle acts, then undo sends. A ban the daemon placed after undo read
its decisions (for another item: another decision's) is never lifted by that undo.
Through `modbot.cli.main` against the fake Lemmy 0.19 and 1.0."""

from __future__ import annotations

import json
import time

import pytest
from support.acting import Scenario
from support.bot import wait_for

from modbot import undo as undo_module
from modbot.audit import item_key
from modbot.cli import main
from modbot.store import Store

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      ban: {scope: site, duration: DURATION, remove_data: false, reason: "known abusive"}
"""

pytestmark = pytest.mark.both_lemmys


@pytest.fixture
def bot(fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch):
    def make(duration: str) -> Scenario:
        s = Scenario(
            fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES.replace("DURATION", duration)
        )
        monkeypatch.chdir(tmp_path)
        for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
            monkeypatch.setenv(name, s.env[name])
        for name in ("MODBOT_RULES", "PICTRS_URL", "PICTRS_API_KEY"):
            monkeypatch.setenv(name, s.env[name])
        return s

    return make


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def unbans(lemmy) -> list:
    path = lemmy.api_path("/api/v3/user/ban")
    return [r for r in lemmy.requests if r.path == path and (r.json or {}).get("ban") is False]


def bans(lemmy) -> list:
    path = lemmy.api_path("/api/v3/user/ban")
    return [r for r in lemmy.requests if r.path == path and (r.json or {}).get("ban") is True]


def decision_of(capsys, post) -> int:
    code, out = run(capsys, "audit", "--json", "--item", f"post:{post.id}")
    assert code == 0, out
    (record,) = [r for r in json.loads(out)["records"] if r.get("undo_of") is None]
    return record["id"]


def ban_cursor(s: Scenario, person: int) -> dict:
    store = Store(s.state)
    try:
        return json.loads(store.get_cursor(f"ban:site:person:{person}") or "{}")
    finally:
        store.close()


def test_a_ban_the_daemon_places_while_undo_runs_is_not_lifted(bot, capsys, monkeypatch):
    s = bot("4s")
    (first,) = s.add_bad_posts(1)
    assert run(capsys, "run", "--once")[0] == 0
    spammer = s.lemmy.person(first.creator_id)
    assert spammer.banned
    one = decision_of(capsys, first)
    placed: list = []

    def daemon_cycle_between() -> None:
        """The daemon's next cycle, after undo read decision `one` and before it sends:
        the bot's 4 s ban ran out and the same person posts another known-bad image,
        which the daemon bans them for, permanently (decision `two`'s ban)."""
        ends = ban_cursor(s, spammer.id)["expires"]
        time.sleep(max(0.0, ends - time.time() + 0.5))
        s.list_bad(1)
        upload = s.lemmy.add_upload(spammer, s._image(1))
        s.posts.append(None)
        second = s.lemmy.add_post(s.lemmy.cast.pics, spammer, name="again", url=upload.url)
        s.write_rules(RULES.replace("DURATION", "permanent"))
        code = main(["run", "--once"])
        assert code == 0
        assert s.lemmy.post(second.id).removed and s.lemmy.person(spammer.id).banned
        placed.append(second)

    real = undo_module.Checks.why_not

    def why_not(self, step):
        if step.kind == "unban" and not placed:
            daemon_cycle_between()
        return real(self, step)

    monkeypatch.setattr(undo_module.Checks, "why_not", why_not)
    code, out = run(capsys, "undo", str(one), "--yes")
    assert placed, out  # the daemon's cycle ran in between (the ban had not run out)
    (second,) = placed
    assert not s.lemmy.post(first.id).removed, out
    # the ban Lemmy shows is the daemon's for the second post: not this undo's to lift
    assert unbans(s.lemmy) == [], out
    assert s.lemmy.person(spammer.id).banned, out
    assert "not lifted" in out and f"bot's ban for post:{second.id}" in out, out
    assert code == 0, out
    code, said = run(capsys, "audit", "--json", "--action", "unban")
    (undo,) = json.loads(said)["records"]
    assert undo["undo_of"] == one
    assert [(a["action"], a["status"]) for a in undo["actions"]] == [
        ("restore", "done"),
        ("unban", "skipped"),
    ]
    # and the bot's ban for the second post stays its own: its undo lifts it
    assert ban_cursor(s, spammer.id).get("item") == f"post:{second.id}"
    two = decision_of(capsys, second)
    monkeypatch.setattr(undo_module.Checks, "why_not", real)
    code, out = run(capsys, "undo", str(two), "--yes")
    assert code == 0, out
    assert len(unbans(s.lemmy)) == 1 and not s.lemmy.person(spammer.id).banned, out
    assert len(bans(s.lemmy)) == 2, out


def removals(lemmy, post_id: int, removed: bool) -> int:
    path = lemmy.api_path("/api/v3/post/remove")
    return sum(
        1
        for r in lemmy.requests
        if r.path == path
        and (r.json or {}).get("post_id") == post_id
        and (r.json or {}).get("removed") is removed
    )


def test_undo_beside_the_running_daemon_acts_once_and_the_daemon_leaves_it(bot, capsys):
    """`modbot undo --yes` while `modbot run` holds the acting lock: it is not refused,
    restores and lifts once; the daemon's next cycles see the restored post again and
    neither remove it again nor ban its author again (one decision, one item)."""
    s = bot("permanent")
    (post,) = s.add_bad_posts(1)
    daemon = s.start("run")
    try:
        wait_for(lambda: s.lemmy.post(post.id).removed, what="the daemon's removal")
        wait_for(lambda: s.lemmy.person(post.creator_id).banned, what="the daemon's ban")
        # (the post's decision: its upload's may come before or after it)
        wait_for(
            lambda: any(item_key(d) == f"post:{post.id}" for d in s.decisions()),
            what="the post's decision recorded",
        )
        one = decision_of(capsys, post)

        code, out = run(capsys, "undo", str(one), "--yes")
        assert code == 0, out
        assert f"done (#{one}): restore post {post.id}" in out, out
        assert f"done (#{one}): lift the ban" in out, out
        # the daemon sees the restored post in a cycle after it: decided again, not acted
        s.lemmy.edit_post(post.id, body="edited")
        wait_for(
            lambda: sum(item_key(d) == f"post:{post.id}" for d in s.decisions()) >= 3,
            what="the daemon's decision on the restored post",
        )
    finally:
        daemon.terminate()
        _, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err[-3000:]
    assert not s.lemmy.post(post.id).removed
    assert not s.lemmy.person(post.creator_id).banned
    assert removals(s.lemmy, post.id, True) == 1 and removals(s.lemmy, post.id, False) == 1
    assert len(bans(s.lemmy)) == 1 and len(unbans(s.lemmy)) == 1
