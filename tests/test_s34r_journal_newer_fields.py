"""Downgraded with an item in flight, where the newer modbot's journal entry has the
same format version but a field this one does not know (the records gained item and
target fields over releases, `item.version`, `shown_by`, `author_role`, without a new
version): `modbot run` died each cycle on a TypeError ("unexpected keyword argument")
with a traceback, where a version it does not know is refused with what to do. Now an
entry this modbot cannot read whole is refused the same way, before anything is sent,
and kept for the modbot that wrote it. Through a real `modbot run --once` against the
fake Lemmy."""

from __future__ import annotations

import pytest
from support.acting import Scenario, fake_lemmy

from modbot.model import Decision, RecordedItem
from modbot.store import Store


@pytest.fixture
def scenario(tmp_path, tiny_checkpoint):
    lemmy = fake_lemmy()
    try:
        yield Scenario(lemmy, tmp_path, tiny_checkpoint)
    finally:
        lemmy.stop()


def entry_with(post_id: int, where: str) -> dict:
    decision = Decision(
        run_id="newer-run",
        decided_at="2026-11-21T10:00:00Z",
        dry_run=False,
        item=RecordedItem(kind="post", id=post_id),
        image=None,
        rule="known abusive image",
    ).to_dict()
    plan = {
        "target": {"kind": "post", "id": post_id},
        "actions": [{"kind": "remove", "reason": "known abusive image", "params": {}, "rule": "r"}],
        "repeats": [],
    }
    if where == "item":
        decision["item"]["seen_by_the_newer_modbot"] = True
    elif where == "target":
        plan["target"]["a_newer_target_field"] = "x"
    else:
        plan["actions"][0]["a_newer_action_field"] = 1
    return {
        "version": 2,
        "runs": ["newer-run"],
        "item": {"kind": "post", "id": post_id, "updated": ""},
        "records": [{**decision, "plan": plan}],
    }


@pytest.mark.parametrize("where", ["item", "target", "action"])
def test_an_entry_with_fields_this_modbot_does_not_know_is_kept(scenario, where):
    s = scenario
    (post,) = s.add_bad_posts(1)
    entry = entry_with(post.id, where)
    store = Store(s.state)
    try:
        store.journal_put(f"post:{post.id}", "newer-run", entry)
    finally:
        store.close()

    done = s.run("run", "--once")
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert f"post:{post.id}" in done.stderr and "newer modbot" in done.stderr, done.stderr[-3000:]
    assert not [r for r in s.lemmy.requests if r.method == "POST" and "login" not in r.path]
    store = Store(s.state)
    try:
        assert store.journal_entries() == [(f"post:{post.id}", "newer-run", entry)]
        assert store.decisions() == []
    finally:
        store.close()
