"""A bot account that is not an admin: one warning, naming the rules that will fail,
said at start, when the account stops being an admin, and again when the daemon reads
a rules file that asks for more."""

from __future__ import annotations

import logging
from datetime import timedelta

from support.session_client import SessionClient

from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.modes.daemon import Daemon
from modbot.pipeline import Pipeline
from modbot.session import Session
from modbot.starter import write_starter
from modbot.store import Store

PURGE_RULE = """
  - name: purge nsfw posts
    if:
      labels: nsfw
    then:
      purge_item: true
"""


def test_a_reload_names_the_new_rules_a_non_admin_account_cannot_carry_out(tmp_path, caplog):
    (rules,) = [p for p in write_starter(tmp_path) if p.name == "rules.yaml"]
    settings = Settings(
        "http://lemmy.example",
        "modbot",
        Secret("password123"),
        rules_path=rules,
        state_path=tmp_path / "state.sqlite3",
    )
    policy = load_policy(rules)
    client = SessionClient(admin=False)
    with Pipeline(settings, policy, dry_run=False, client=client) as pipeline:  # type: ignore[arg-type]
        pipeline.start()
        (started,) = pipeline.warnings
        assert "is not an admin" in started and "'known abusive image' (site ban)" in started
        rules.write_text(rules.read_text() + PURGE_RULE)
        daemon = Daemon(pipeline, policy)
        with caplog.at_level(logging.WARNING):
            assert daemon.reload()
        assert len(pipeline.warnings) == 2
        again = pipeline.warnings[-1]
        assert "'modbot' is not an admin" in again and "will fail" in again
        assert "'known abusive image' (site ban), 'purge nsfw posts' (purge_item)" in again
        assert again in caplog.text
        # rules that need no admin: nothing more to say
        rules.write_text("rules:\n")
        assert daemon.reload() and len(pipeline.warnings) == 2


def test_no_longer_an_admin_names_the_rules_as_the_start_does(tmp_path):
    said: list[str] = []
    client = SessionClient(admin=True)
    store = Store(tmp_path / "state.sqlite3")
    try:
        settings = Settings("http://lemmy.example", "modbot", Secret("password123"))
        session = Session(
            client,  # type: ignore[arg-type]
            store,
            settings,
            dry_run=True,
            warn=said.append,
            check_every=timedelta(0),
            needs_admin=["'ban them' (site ban)"],
        )
        assert session.start() and session.admin and said == []
        client.admin = False
        assert session.start() and not session.admin
        (warning,) = said
        assert "'modbot' is no longer an admin" in warning
        assert "would fail in a live run: 'ban them' (site ban)" in warning
        assert "Make the account an admin" in warning
        # an admin account: a reload says nothing
        client.admin = True
        session.start()
        session.rules_changed(["'ban them' (site ban)"])
        assert len(said) == 1
    finally:
        store.close()
