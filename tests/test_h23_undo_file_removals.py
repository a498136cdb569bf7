"""Undoing a stored file's decision (`modbot sweep --store`: the file's removal went to
each post showing it) restores only the posts that decision removed: a post another
decision had removed already (for another image of it) stays removed, and the output
says which decision to undo for it. Through `modbot.cli.main`, Lemmy 0.19 and 1.0."""

from __future__ import annotations

import pytest
from support.cli import bot_environment

from modbot.cli import main
from modbot.store import Store


def decision(item: dict, detail: str) -> dict:
    return {
        "run_id": "R",
        "decided_at": "2026-11-21T10:00:00Z",
        "dry_run": False,
        "item": item,
        "image": {"sha256": "ab" * 32},
        "rule": "known abusive image",
        "actions": [{"action": "remove", "status": "done", "detail": detail}],
    }


@pytest.mark.both_lemmys
def test_a_files_undo_leaves_a_post_another_decision_removed(
    fake_lemmy, tmp_path, monkeypatch, capsys
):
    cast = fake_lemmy.cast
    first = fake_lemmy.add_post(cast.pics, cast.alice, name="its own bad image, and the file")
    second = fake_lemmy.add_post(cast.pics, cast.alice, name="the file only")
    for post in (first, second):
        fake_lemmy.post(post.id).removed = True
    state = tmp_path / "state.sqlite3"
    store = Store(state)
    # the post's own decision removed it (another image of it)
    store.add_decision(decision({"kind": "post", "id": first.id}, f"remove post {first.id}"))
    store.record_action("remove", f"post:{first.id}", "done", "", "R", item=f"post:{first.id}")
    # then the store sweep's decision on the file both posts show
    detail = f"already done: remove post {first.id}; remove post {second.id}"
    file_decision = store.add_decision(decision({"kind": "file", "id": "ab" * 32}, detail))
    store.record_action("remove", f"post:{second.id}", "done", "", "R", item=f"file:{'ab' * 32}")
    store.close()
    bot_environment(monkeypatch, fake_lemmy, state)

    assert main(["undo", str(file_decision), "--yes"]) == 0
    out = capsys.readouterr().out
    assert not fake_lemmy.post(second.id).removed, out
    assert fake_lemmy.post(first.id).removed, out
    assert f"for post:{first.id}, another decision's" in out, out
