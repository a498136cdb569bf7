"""An upload whose action failed for a passing reason (pict-rs down after every retry),
or whose image no classifier could look at, is looked at again on the next read of the
uploads, though newer uploads moved the uploads' watermark past it; within a bound:
never more than ``lemmy.lookback`` below the newest upload, beyond which the next sweep
finds it (it was never marked seen)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.bot import sha
from support.policies import BAD

from fakelemmy.scenarios import PASSWORD
from fakelemmy.state import now
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient
from modbot.source import Source
from modbot.store import Store

PURGE = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      purge_image: true
"""


def _uploads(lemmy, photos, tiny, *, bad_age: timedelta):
    """A known-bad upload, then a newer innocent one that moves the watermark past it."""
    spammer = lemmy.add_person("spammer")
    bad = lemmy.add_upload(spammer, photos[BAD], published=now() - bad_age)
    lemmy.add_upload(
        lemmy.cast.alice, photos[tiny.others[0]], published=now() - timedelta(minutes=1)
    )
    return bad


def _purges(lemmy) -> list[int]:
    return [r.status for r in lemmy.requests if r.path == "/internal/purge"]


@pytest.mark.both_lemmys
def test_an_upload_whose_purge_failed_for_now_is_purged_next_cycle(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy = fake_lemmy
    bad = _uploads(lemmy, photos, tiny, bad_age=timedelta(minutes=2))
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=PURGE)
    pipeline.client.retries, pipeline.client.backoff = 1, 0.01
    pipeline.source.uploads_every = timedelta(0)  # the uploads are read every poll
    lemmy.fail_next("/internal/purge", times=2, status=502, server="pictrs")
    first = pipeline.poll_once(deep=True)
    assert first.actions == {"purge_image:failed": 1} and not bad.deleted
    second = pipeline.poll_once(deep=False)
    assert second.actions == {"purge_image:done": 1} and bad.deleted
    assert _purges(lemmy) == [502, 502, 200]
    assert pipeline.poll_once(deep=True).actions == {}, "and then it is done"
    assert _purges(lemmy) == [502, 502, 200]


def test_an_upload_no_classifier_could_look_at_is_looked_at_again(
    fake_lemmy, photos, tiny, pipeline_for, monkeypatch
):
    from classifier.remote import ClassifierUnavailable

    lemmy = fake_lemmy
    bad = _uploads(lemmy, photos, tiny, bad_age=timedelta(minutes=2))
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=PURGE)

    async def unavailable(data):
        raise ClassifierUnavailable("every worker is down")

    with monkeypatch.context() as patched:
        patched.setattr(pipeline._engine, "classify", unavailable)
        first = pipeline.poll_once(deep=True)
    assert first.actions == {} and not bad.deleted
    skipped = {r["skipped"] for r in pipeline.store.decisions()}
    assert skipped == {"classifier_unavailable"}
    second = pipeline.poll_once(deep=True)
    assert second.actions == {"purge_image:done": 1} and bad.deleted


def test_an_upload_failing_past_the_lookback_is_left_to_the_sweep(
    fake_lemmy, photos, tiny, pipeline_for
):
    """The bound: the uploads are paged back to a failed one for at most ``lookback``
    below the newest upload read; then it is dropped from the list with a warning, and
    the sweep, which reads every upload not seen, purges it."""
    lemmy = fake_lemmy
    bad = _uploads(lemmy, photos, tiny, bad_age=timedelta(minutes=30))
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=PURGE)
    pipeline.client.retries, pipeline.client.backoff = 1, 0.01
    lemmy.fail_next("/internal/purge", times=2, status=502, server="pictrs")
    assert pipeline.poll_once(deep=True).actions == {"purge_image:failed": 1}
    pipeline.source.lookback = timedelta(minutes=10)  # the upload is now 29 min below
    stats = pipeline.poll_once(deep=True)
    assert stats.items_seen == 0 and stats.actions == {}
    assert any(f"upload {bad.alias}" in w and "sweep" in w for w in pipeline.warnings)
    assert pipeline.poll_once(deep=True).items_seen == 0
    assert _purges(lemmy) == [502, 502]
    assert pipeline.sweep().actions == {"purge_image:done": 1} and bad.deleted


def test_the_uploads_are_read_back_to_a_waiting_one_no_further_than_the_lookback(
    fake_lemmy, photos, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    media = lemmy.api_path("/api/v3/admin/list_all_media")
    bad = lemmy.add_upload(cast.alice, photos[BAD], published=now() - timedelta(minutes=50))
    for n in range(120):  # three pages, the waiting upload on the last
        lemmy.add_upload(cast.alice, photos[BAD], published=now() - timedelta(minutes=40 - n / 4))
    client = LemmyClient(lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0)
    source = Source(client, Store(tmp_path / "state.sqlite3"), scope="live")

    def poll() -> set[str]:
        lemmy.clear_requests()
        items = [i for batch in source.poll(deep=True) for i in batch if i.kind == "upload"]
        for item in items:
            if item.id == bad.alias:
                source.set_retry("upload", item.id, True)  # its purge failed for now
            else:
                source.mark_seen(item)
        return {i.id for i in items}

    assert bad.alias in poll()
    newer = lemmy.add_upload(cast.alice, photos[BAD])
    assert poll() == {newer.alias, bad.alias}
    assert [r.path for r in lemmy.requests].count(media) == 3
    source.lookback = timedelta(minutes=15)  # the first page reaches 22 min below
    assert poll() == set()
    assert [r.path for r in lemmy.requests].count(media) == 1, "not past the lookback"
    assert poll() == set() and [r.path for r in lemmy.requests].count(media) == 1
