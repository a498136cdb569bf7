"""`modbot undo` and the daemon, two processes on one state, never both send for the
same person: undo's check of the bot's ban and its unban's claim are one step, and so
are the ban handler's check for an unban in flight and its ban's claim. Each test puts
the other side's act right between the check and the claim (where the code allowed one
before), deterministically: the other side's state connection gives up at once on the
lock (as the real one waits), and acts again where it would have got the lock."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.acting import Scenario

from modbot import undo as undo_module
from modbot.actions import handlers
from modbot.actions.executor import Executor
from modbot.cli import main
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient
from modbot.model import ActionOutcome, PlannedAction, Target
from modbot.store import Store

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      ban: {scope: site, duration: 1h, remove_data: false, reason: "known abusive"}
"""


@pytest.fixture
def scenario(fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch) -> Scenario:
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    for name in ("MODBOT_RULES", "PICTRS_URL", "PICTRS_API_KEY"):
        monkeypatch.setenv(name, s.env[name])
    return s


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def ban_requests(lemmy) -> list[bool]:
    """Each site ban request sent, in order: True a ban, False an unban."""
    path = lemmy.api_path("/api/v3/user/ban")
    return [bool((r.json or {}).get("ban")) for r in lemmy.requests if r.path == path]


class Daemon:
    """The daemon's ban of ``person`` for ``post``, through its own executor and state
    connection; ``clock``: the moment it acts at."""

    def __init__(
        self,
        lemmy,
        state: Path,
        post,
        person: int,
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = 30.0,
    ) -> None:
        cast = lemmy.cast
        self.client = LemmyClient(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
        self.store = Store(state, busy_timeout=busy_timeout)
        self.executor = Executor(
            self.client,
            self.store,
            run_id="daemon",
            dry_run=False,
            admin_ids={cast.admin.id, cast.bot.id},
            bot_person_id=cast.bot.id,
            clock=clock,
        )
        self.target = Target(
            kind="post",
            id=post.id,
            url=f"{lemmy.url}/post/{post.id}",
            author_id=person,
            community_id=post.community_id,
        )

    def ban(self) -> ActionOutcome:
        planned = PlannedAction("ban", "known abusive", {"scope": "site"}, "known abusive image")
        return self.executor.execute(self.target, [planned])[0]

    def close(self) -> None:
        self.client.close()
        self.store.close()


def test_the_daemons_ban_between_undos_check_and_its_claim_is_not_lifted(
    scenario, capsys, monkeypatch
):
    """Undo decided the bot's 1 h ban is this decision's; right then the ban runs out and
    the daemon bans the person anew (permanently) for another post. Before, undo went on
    to claim and send its unban, lifting that new ban: the second offence unpunished,
    for good (the daemon's record said done). Now the daemon's claim waits for undo's,
    sees the unban in flight and defers; its next cycle bans anew."""
    s = scenario
    (first,) = s.add_bad_posts(1)
    assert run(capsys, "run", "--once")[0] == 0
    spammer = s.lemmy.person(first.creator_id)
    assert spammer.banned and ban_requests(s.lemmy) == [True]
    code, out = run(capsys, "audit", "--json", "--item", f"post:{first.id}")
    (one,) = [r["id"] for r in json.loads(out)["records"]]
    store = Store(s.state)
    ends = json.loads(store.get_cursor(f"ban:site:person:{spammer.id}") or "{}")["expires"]
    store.close()
    second = s.lemmy.add_post(s.lemmy.cast.pics, spammer, name="again")
    # the daemon acts the moment the bot's ban ran out; its state connection gives up on
    # SQLite's lock at once (the real one waits: it acts again where it would get it)
    daemon = Daemon(s.lemmy, s.state, second, spammer.id, clock=lambda: ends + 1, busy_timeout=0.1)
    outcomes: list[ActionOutcome] = []
    waited: list[str] = []
    armed: list[bool] = []

    real_why_not = undo_module.Checks.why_not

    def why_not(self, step):
        found = real_why_not(self, step)
        if step.kind == "unban" and found is None:
            armed.append(True)  # Lemmy asked: the next check of the ban is the last one
        return found

    real_check = undo_module._ban_not_theirs

    def check_then_daemon(store, target, items, now=None, **kwargs):
        why = real_check(store, target, items, now, **kwargs)
        if armed and not outcomes and not waited:
            try:
                outcomes.append(daemon.ban())
            except sqlite3.OperationalError as exc:  # undo holds the lock: it claims first
                assert "locked" in str(exc), exc
                waited.append(str(exc))
        return why

    real_sender = undo_module._sender

    def sender(client, step, reason, restore_data):
        send, refused = real_sender(client, step, reason, restore_data)

        def send_after_the_daemon() -> None:
            if waited and not outcomes:  # the daemon got the lock once undo claimed
                outcomes.append(daemon.ban())
            send()

        return send_after_the_daemon, refused

    monkeypatch.setattr(undo_module.Checks, "why_not", why_not)
    monkeypatch.setattr(undo_module, "_ban_not_theirs", check_then_daemon)
    monkeypatch.setattr(undo_module, "_sender", sender)
    try:
        code, out = run(capsys, "undo", str(one), "--yes")
        assert outcomes, out  # the daemon acted between undo's check and its claim
        assert code == 0, out
        # the daemon's next cycle
        outcomes.append(daemon.ban())
    finally:
        daemon.close()
    # the daemon's ban was never sent while the unban was: the bot's first ban lifted,
    # then the person banned anew for the second post
    assert ban_requests(s.lemmy) == [True, False, True], out
    assert s.lemmy.person(spammer.id).banned, out
    assert f"done (#{one}): lift the ban" in out, out
    (held, again) = outcomes
    assert held.status == "failed" and held.retry, held
    assert "modbot undo is lifting this person's ban" in held.detail
    assert again.status == "done", again


def test_an_unban_claimed_between_the_ban_handlers_check_and_its_claim_holds_it(
    fake_lemmy, tmp_path, monkeypatch
):
    """The ban handler found no unban in flight; right then `modbot undo` claimed one.
    Before, the ban was claimed and sent anyway (Lemmy could get it before the unban and
    lift it with the old ban); now the ban's claim sees the unban and defers."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice)
    key = f"site:person:{cast.alice.id}"
    undo_store = Store(tmp_path / "state.sqlite3")
    daemon = Daemon(lemmy, tmp_path / "state.sqlite3", post, cast.alice.id)
    real = handlers._longer_ban_there

    def undo_claims_meanwhile(*args, **kwargs):
        # between the ban handler's check and its claim: undo claims the unban
        claim = undo_store.claim_action("unban", key, "undo-run", "lift the ban")
        assert claim.outcome == "claimed"
        return real(*args, **kwargs)

    monkeypatch.setattr(handlers, "_longer_ban_there", undo_claims_meanwhile)
    try:
        outcome = daemon.ban()
    finally:
        daemon.close()
        undo_store.close()
    assert outcome.status == "failed" and outcome.retry, outcome
    assert "modbot undo is lifting this person's ban" in outcome.detail
    assert ban_requests(lemmy) == []
    assert not lemmy.person(cast.alice.id).banned
