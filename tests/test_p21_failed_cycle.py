"""A cycle that fails part-way (Lemmy's listing answers 502 past the retries on its
second page) still says what it did first: the items it decided and recorded, the
images it skipped and the actions it took, counted in the log and kept for the caller
(``Pipeline.cycle_stats``), as a cycle that ends well does."""

from __future__ import annotations

import logging

import pytest
from support.bot import remote_photo, sha
from support.policies import BAD

from fakelemmy import hostile
from modbot.lemmy import LemmyUnavailable


def test_a_cycle_failing_on_its_second_page_says_what_it_did_first(
    fake_lemmy, photos, tiny, pipeline_for, caplog
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = remote_photo(lemmy, photos, BAD)
    page = lemmy.add_remote_behaviour("page.jpg", hostile.html_page())
    for i in range(55):  # more than a page (50): the newest page has the bad one
        url = (
            bad
            if i == 54
            else page
            if i == 53
            else remote_photo(lemmy, photos, tiny.others[0], f"{i}.jpg")
        )
        lemmy.add_post(cast.pics, cast.alice, name=f"p{i}", url=url)
    rules = "\n  - name: bad\n    if: {hash_list: known-bad}\n    then: {remove: bad}\n"
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=rules)
    pipeline.start()
    first_page = pipeline.client.posts

    def posts(cursor, **kwargs):
        if cursor:  # the second page: Lemmy down past the client's retries
            raise LemmyUnavailable("HTTP 502 from Lemmy (test)")
        return first_page(cursor, **kwargs)

    pipeline.client.posts = posts
    caplog.set_level(logging.INFO, logger="modbot")
    with pytest.raises(LemmyUnavailable):
        pipeline.poll_once()
    stats = pipeline.cycle_stats
    assert stats is not None and stats.items_seen == 50
    assert stats.actions["remove:done"] == 1 and stats.skipped["not_an_image"] == 1
    said = [r.getMessage() for r in caplog.records if r.name == "modbot.pipeline"]
    line = next(m for m in said if "HTTP 502 from Lemmy (test)" in m)
    assert "50 items" in line and "remove:done 1" in line and "not_an_image 1" in line, line
