"""An image whose acquisition fails on modbot's side (the state file busy past SQLite's
timeout when its verdict is looked up, say) fails the cycle, and its item is looked at
again next cycle: it is not recorded ``unchecked`` and marked seen (never looked at
again), nor left hanging until ``fetch.item_timeout`` as if its server were slow."""

from __future__ import annotations

import sqlite3

import pytest
from support.bot import remote_photo


def _busy(*args, **kwargs):
    raise sqlite3.OperationalError("database is locked")


def _decisions_of(store, item_id):
    return [r for r in store.decisions() if r["item"]["id"] == item_id]


def test_an_item_whose_image_failed_on_our_side_is_not_recorded_and_is_retried(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(
        cast.pics, cast.bob, name="new", url=remote_photo(lemmy, photos, tiny.others[0])
    )
    pipeline = pipeline_for(lemmy, dry_run=True)
    store, get_verdict = pipeline.store, pipeline.store.get_verdict
    store.get_verdict = _busy  # the verdict cache, asked before the classifier
    with pytest.raises(sqlite3.OperationalError):
        pipeline.poll_once()
    recorded = _decisions_of(store, post.id)
    assert not recorded, [(r["skipped"], r.get("skipped_detail")) for r in recorded]
    store.get_verdict = get_verdict
    pipeline.poll_once()
    [record] = _decisions_of(store, post.id)
    assert record["skipped"] is None and record["scores"], record
