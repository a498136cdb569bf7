"""`modbot sweep` stopped (SIGTERM, Ctrl-C) while Lemmy is down stops at once, as
interrupted, and sends Lemmy nothing more.

Before: the post sweep did not give its stop to the Lemmy client (`sweep --store` does,
aa456ed). A SIGTERM while a post's comments were being retried waited out the backoffs
(0.5 + 1 + 2 + 4 + 8 s), and then the walk read the comments of every other post of the
page, each retried as long: minutes past Docker's 10 s stop timeout, with five more
requests a post to a Lemmy that is down. Now the sweep's client gives up a request that
would wait to be retried once the sweep is stopping, the walk ends there (the page is
read again when the sweep resumes), and the run ends as interrupted (exit 130)."""

from __future__ import annotations

import os
import signal

import pytest
from support.cli import bot_environment
from support.policies import write_rules

from modbot.cli import main
from modbot.lemmy import v3


@pytest.mark.timeout(120)
def test_sigterm_while_comments_are_retried_stops_the_sweep_at_once(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    for name in ("a", "b", "c"):
        post = lemmy.add_post(lemmy.cast.pics, lemmy.cast.alice, name=name)
        lemmy.add_comment(post, lemmy.cast.bob)
    rules = write_rules(tmp_path, lemmy, tiny)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    lemmy.fail_next("/api/v3/comment/list", times=100, status=502)  # Lemmy goes down
    comments = v3.LemmyClient.comments

    def sigterm_first(client, *args, **kw):  # the operator stops it
        os.kill(os.getpid(), signal.SIGTERM)
        return comments(client, *args, **kw)

    monkeypatch.setattr(v3.LemmyClient, "comments", sigterm_first)
    lemmy.clear_requests()
    assert main(["sweep", "--dry-run"]) == 130
    out = capsys.readouterr().out
    assert "(dry-run) interrupted (run it again to resume)" in out, out
    sent = [r for r in lemmy.requests if r.path == "/api/v3/comment/list"]
    assert len(sent) == 1, f"{len(sent)} requests to a Lemmy that is down after the stop"
    assert lemmy.mutating_requests() == []
