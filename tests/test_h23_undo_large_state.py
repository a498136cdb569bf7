"""`modbot undo` of one decision on a large state (20,000 records here) reads that
record, not the whole table: in flat memory, the preview and the undo itself.
Through `modbot.cli.main` against the fake Lemmy."""

from __future__ import annotations

import tracemalloc

import pytest
from support.cli import bot_environment

from modbot.cli import main
from modbot.store import Store

N = 20_000


def record(i: int, post_id: int) -> dict:
    return {
        "run_id": f"R{i // 1000}",
        "decided_at": "2026-11-21T10:00:00Z",
        "dry_run": False,
        "item": {"kind": "post", "id": post_id, "author_id": 7},
        "image": {"url": f"https://lemmy.example/pictrs/image/{i}.jpg", "sha256": f"{i:064x}"},
        "scores": {f"concept{c}": 0.0123 for c in range(40)},
        "labels": ["nsfw"],
        "rule": "nsfw",
        "actions": [{"action": "remove", "status": "done", "detail": f"remove post {post_id}"}],
        "skipped": None,
    }


@pytest.mark.both_lemmys
def test_undo_of_one_decision_reads_only_it(fake_lemmy, tmp_path, monkeypatch, capsys):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice, name="a false positive")
    fake_lemmy.post(post.id).removed = True
    state = tmp_path / "state.sqlite3"
    store = Store(state)
    with store.transaction():
        for i in range(N):
            store.add_decision(record(i, 10_000 + i))
        wanted = store.add_decision(record(N, post.id))
        store.record_action("remove", f"post:{post.id}", "done", f"remove post {post.id}")
    store.close()
    bot_environment(monkeypatch, fake_lemmy, state)

    for args in (["undo", str(wanted)], ["undo", str(wanted), "--yes"]):
        tracemalloc.start()
        try:
            code = main(args)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        out = capsys.readouterr().out
        assert code == 0, out
        assert f"restore post {post.id}" in out
        # the whole table held at once is about 150 MB here
        assert peak < 20_000_000, f"{args}: {peak / 1e6:.0f} MB"
    assert not fake_lemmy.post(post.id).removed
