"""`modbot sweep --local` / `--federated` still say the items Lemmy sent malformed.

Before: a malformed post (its creator missing, say: a broken federated copy) carries no
origin, since nothing of it can be trusted, so `Source.backlog` left it out of a sweep
limited to local or federated items: neither sweep recorded it as skipped and neither
summary counted it. The `--federated` sweep, where broken copies come from, said
nothing at all. Now an item whose origin cannot be read is handed out to either: the
pipeline records it as skipped (``malformed_item``) and the summary says so."""

from __future__ import annotations

import pytest
from support.cli import bot_environment
from support.policies import write_rules

from modbot.cli import main


def _broken(body: dict) -> dict:
    posts = [dict(view) for view in body["posts"]]
    for view in posts:
        if view["post"]["name"] == "broken":
            view.pop("creator")
    return {**body, "posts": posts}


@pytest.mark.parametrize("origin", ["--local", "--federated"])
def test_a_malformed_post_is_said_by_a_sweep_of_either_origin(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys, origin
):
    lemmy = fake_lemmy
    lemmy.add_post(lemmy.cast.pics, lemmy.cast.alice, name="ok")
    lemmy.add_post(lemmy.cast.pics, lemmy.cast.alice, name="broken")
    lemmy.tamper("/api/v3/post/list", _broken)
    rules = write_rules(tmp_path, lemmy, tiny)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    assert main(["sweep", "--dry-run", origin]) == 0
    out = capsys.readouterr().out
    summary = next(line for line in out.splitlines() if " (dry-run) done: " in line)
    assert "skipped malformed_item 1" in summary, out
    assert lemmy.mutating_requests() == []
