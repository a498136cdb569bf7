"""An image whose acquisition fails on modbot's side (the state file busy past SQLite's
timeout when its verdict is looked up, say) fails the cycle, and its item is looked at
again next cycle: it is not recorded ``unchecked`` and marked seen (never looked at
again), nor left hanging until ``fetch.item_timeout`` as if its server were slow."""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta

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


def test_a_known_file_whose_verdict_cannot_be_read_fails_at_once_not_at_the_item_timeout(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.alice, photos[tiny.others[0]])
    lemmy.add_post(cast.pics, cast.alice, name="first", url=upload.url)
    pipeline = pipeline_for(lemmy, dry_run=True)
    pipeline.poll_once()  # the alias is known from now on, with its verdict
    second = lemmy.add_post(cast.pics, cast.bob, name="second", url=upload.url)
    pipeline.policy.fetch = pipeline.policy.fetch.model_copy(
        update={"item_timeout": timedelta(seconds=20)}
    )
    store, get_verdict = pipeline.store, pipeline.store.get_verdict
    store.get_verdict = _busy
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError):
        pipeline.poll_once()
    assert time.monotonic() - started < 10, "waited for the item's timeout"
    assert not _decisions_of(store, second.id)
    store.get_verdict = get_verdict
    pipeline.poll_once()
    [record] = _decisions_of(store, second.id)
    assert record["skipped"] is None and record["scores"], record
