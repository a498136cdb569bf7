"""A post looked at again for an action that failed for a passing reason (Lemmy
answering 502) is decided once a cycle. Before, a deep poll decided it twice: read by
id as a post to retry, then again from the listing (it is not marked seen while its
action waits), so the failing action was sent twice every cycle and the cycle's line
counted the one post as two items."""

from __future__ import annotations

from datetime import timedelta

from support.bot import sha
from support.policies import BAD

from fakelemmy.state import now

REPORT_ONLY = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then: {report: "known abusive image"}
"""


def test_a_post_to_retry_is_decided_once_in_a_cycle(fake_lemmy, photos, tiny, pipeline_for):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    link = lemmy.add_remote_file("x.jpg", photos[BAD])
    post = lemmy.add_post(
        cast.pics, cast.bob, name="p", url=link, published=now() - timedelta(minutes=5)
    )
    report = lemmy.api_path("/api/v3/post/report")
    lemmy.fail_next(report, times=1000, status=502)  # down for a while
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REPORT_ONLY)
    pipeline.client.retries, pipeline.client.backoff = 1, 0.01  # a test need not wait

    mark = len(lemmy.requests)
    first = pipeline.poll_once(deep=True)
    tries = len([r for r in lemmy.requests[mark:] if r.path == report])
    assert first.items_seen == 1 and first.actions["report:failed"] == 1, first.summary()
    assert tries >= 1

    mark = len(lemmy.requests)
    again = pipeline.poll_once(deep=True)
    assert again.items_seen == 1, again.summary()
    assert again.actions["report:failed"] == 1, again.summary()
    assert len([r for r in lemmy.requests[mark:] if r.path == report]) == tries
    recorded = [d for d in pipeline.store.decisions() if d["item"]["id"] == post.id]
    assert len(recorded) == 2  # one per cycle

    # Lemmy is back: the next cycle reports it, once, and the post is done with
    while lemmy.take_fault("lemmy", report):
        pass
    last = pipeline.poll_once(deep=True)
    assert last.actions["report:done"] == 1, last.summary()
    assert len(lemmy.reports) == 1
    assert pipeline.poll_once(deep=True).items_seen == 0
