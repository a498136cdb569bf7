"""`modbot run` names the rules it runs by in its first log line, and again at a SIGHUP
reload: a subscribed feed's copy kept in the state file is named there (its entries and
date), not "no copy yet" as if the bot had none."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from support.cli import bot_environment
from support.policies import write_rules
from test_h23_doc_doctor_feeds import feeds_yaml, signed

from modbot.cli import main
from modbot.config.policy import load_policy
from modbot.modes.daemon import Daemon
from modbot.store import Store
from modbot.subscriptions import refresh


def test_the_start_and_reload_lines_name_the_feed_copy_kept(
    fake_lemmy, tiny, pipeline_for, tmp_path, monkeypatch, caplog
):
    lemmy = fake_lemmy
    state = tmp_path / "state.sqlite3"
    bot_environment(monkeypatch, lemmy, state)
    rules = write_rules(tmp_path, lemmy, tiny)
    rules.write_text(rules.read_text() + feeds_yaml(lemmy, ["peer"]))
    monkeypatch.setenv("MODBOT_RULES", str(rules))
    body, sig = signed(datetime.now(UTC) - timedelta(hours=1), n=3)
    lemmy.add_remote_file("peer.json", body, content_type="application/json")
    lemmy.add_remote_file("peer.json.sig", sig, content_type="text/plain")
    store = Store(state)
    refresh(store, load_policy(rules), warn=lambda w: None)  # an earlier cycle kept it
    store.close()

    caplog.set_level(logging.INFO)
    assert main(["run", "--once", "--dry-run"]) == 0
    start = next(r.getMessage() for r in caplog.records if " as modbot (run " in r.getMessage())
    assert "no copy yet" not in start and "3 entries" in start, start

    caplog.clear()
    pipeline = pipeline_for(lemmy)  # (its own state: the feed kept there too)
    rules = write_rules(tmp_path, lemmy, tiny)  # (pipeline_for wrote its own there)
    rules.write_text(rules.read_text() + feeds_yaml(lemmy, ["peer"]))
    refresh(pipeline.store, load_policy(rules), warn=lambda w: None)
    pipeline.policy = load_policy(rules)
    daemon = Daemon(pipeline, pipeline.policy)
    assert daemon.reload()
    reloaded = next(r.getMessage() for r in caplog.records if "rules reloaded" in r.getMessage())
    assert "no copy yet" not in reloaded and "3 entries" in reloaded, reloaded
