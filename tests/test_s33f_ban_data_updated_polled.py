"""After a site ban with ``remove_data``, Lemmy sets ``updated`` on every post and comment
of the banned person it removed (0.19 and 1.0 ``update_removed_for_creator``: see
test_s33f_fake_ban_data_updated.py). The next polls must not take those for edits and
act, or record a decision, again.

Before, the next deep poll decided each such item again and recorded a second decision
(its remove and ban "skipped"): 0.19 the comments (admins read removed comments), 1.0
the post too (admins read removed posts); no request was repeated (found with the fake
made faithful, 0f85d3a). A banned person can edit nothing: a removed item of a banned
author seen before is no edit."""

from __future__ import annotations

import pytest
from support.bot import remote_photo, sha
from support.policies import BAD

BAN_WITH_DATA = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      ban: {scope: site, duration: permanent, remove_data: true, reason: "known abusive"}
"""


@pytest.mark.slow
@pytest.mark.both_lemmys
def test_items_a_ban_removed_are_not_decided_again(fake_lemmy, photos, tiny, pipeline_for):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad_url = remote_photo(lemmy, photos, BAD)
    thread = lemmy.add_post(cast.pics, cast.bob, name="a thread")
    lemmy.add_comment(thread, cast.alice, content=f"![x]({bad_url})")
    lemmy.add_comment(thread, cast.alice, content=f"again ![x]({bad_url})")
    lemmy.add_post(cast.pics, cast.alice, name="plain", body=f"![x]({bad_url})")
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=BAN_WITH_DATA)
    pipeline.poll_once(deep=True)
    assert lemmy.person(cast.alice.id).banned
    decided = len(list(pipeline.store.decisions()))
    changing = len(lemmy.mutating_requests())
    pipeline.poll_once(deep=True)
    pipeline.poll_once(deep=False)
    assert len(lemmy.mutating_requests()) == changing
    again = list(pipeline.store.decisions())[decided:]
    assert again == [], [
        (r["item"]["kind"], r["item"]["id"], [(a["action"], a["status"]) for a in r["actions"]])
        for r in again
    ]
