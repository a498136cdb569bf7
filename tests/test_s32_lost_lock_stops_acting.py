"""A process whose lock file was deleted while it acted, and another process took a new
one (c58c384: the holder then logs an error and ``StateLock.check()`` refuses), went on
acting beside the new holder: nothing called ``check()``, so "one acting process per
state" held no more. Now a cycle does not start, and an item's actions are not sent, in
a process that lost the lock; the item is not recorded (the new holder decides it)."""

from __future__ import annotations

import pytest
from support.bot import sha
from support.policies import BAD

from modbot.errors import StateLocked

LOST = "the lock file was deleted while this process held it"


@pytest.mark.parametrize("when", ["before the cycle", "during the cycle"])
def test_a_pipeline_that_lost_its_lock_sends_nothing(fake_lemmy, photos, pipeline_for, when):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.bob, url=lemmy.add_remote_file("b.jpg", photos[BAD]))
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])])
    lock = pipeline.state_lock
    assert lock is not None
    # what the lock's guard records when another process took the lock file made anew
    if when == "before the cycle":
        lock.lost = LOST
    else:  # once the cycle has begun: the item's actions must not go
        begin = pipeline.start

        def start() -> None:
            begin()
            lock.lost = LOST

        pipeline.start = start  # type: ignore[method-assign]
    before = len(lemmy.mutating_requests())
    with pytest.raises(StateLocked):
        pipeline.poll_once(deep=True)
    # (the session's own account settings may be fixed as the cycle begins: no action)
    sent = [r.path for r in lemmy.mutating_requests()[before:] if "user_settings" not in r.path]
    assert sent == []
    assert not lemmy.post(post.id).removed
    assert not [r for r in pipeline.store.decisions() if r["item"]["id"] == post.id]
