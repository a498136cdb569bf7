"""Which communities a site ban's `remove_data` takes depends on the 0.19 release:
Lemmy removes every community whose "first" moderator is the banned person, and
`get_community_first_mods` took the moderator of the lowest person id as first up to
0.19.5 (its query ordered by `person_id`), the earliest made from 0.19.6 (by
`published`). modbot reads the release from nodeinfo and names, in the ban's record
and the admins' message, the communities that Lemmy release removes; not able to read
it, those either rule takes."""

from __future__ import annotations

import pytest
from support.bot import sha
from support.policies import BAD

BAN = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      ban: {scope: site, duration: permanent, remove_data: true, reason: "known abusive"}
"""


@pytest.fixture
def fake_lemmy(request):
    """A started fake Lemmy 0.19 of the release the test names ("unread": 0.19.9 whose
    nodeinfo cannot be read), with the standard cast."""
    from fakelemmy import FakeLemmy
    from fakelemmy.scenarios import standard_cast

    version = getattr(request, "param", "0.19.9")
    with FakeLemmy(version="0.19.9" if version == "unread" else version) as lemmy:
        lemmy.cast = standard_cast(lemmy)
        if version == "unread":
            for path in ("/nodeinfo/2.0.json", "/nodeinfo/2.1.json"):
                lemmy.fail_next(path, times=100, status=404, error="not_found")
        yield lemmy


def ban_detail(pipeline, post) -> str:
    (record,) = [
        r
        for r in pipeline.store.decisions()
        if (r["item"]["kind"], r["item"]["id"]) == ("post", post.id)
    ]
    (ban,) = [a for a in record["actions"] if a["action"] == "ban"]
    assert ban["status"] == "done", ban
    return ban["detail"]


@pytest.mark.parametrize(
    ("fake_lemmy", "removed"),
    [("0.19.5", "by_id"), ("0.19.6", "earliest"), ("0.19.9", "earliest")],
    indirect=["fake_lemmy"],
)
def test_the_ban_names_the_communities_this_release_removes(
    fake_lemmy, removed, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    assert cast.mod.id < cast.alice.id < cast.bob.id  # made in that order
    # alice appointed first, mod's id lower: the earliest made is alice
    earliest = lemmy.add_community("earliest", moderators=[cast.alice.id, cast.mod.id])
    # bob appointed first, alice's id lower: the lowest id is alice
    by_id = lemmy.add_community("byid", moderators=[cast.bob.id, cast.alice.id])
    bad = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, url=bad.url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=BAN)
    pipeline.poll_once(deep=True)
    detail = ban_detail(pipeline, post)
    gone = {"earliest": earliest, "by_id": by_id}[removed]
    kept = by_id if gone is earliest else earliest
    # what Lemmy did, and what the record says of it
    assert lemmy.community(gone.id).removed and not lemmy.community(kept.id).removed
    assert f"/c/{gone.name}`" in detail and f"/c/{kept.name}`" not in detail, detail


@pytest.mark.parametrize("fake_lemmy", ["unread"], indirect=True)
def test_a_release_not_told_names_the_communities_either_rule_takes(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    earliest = lemmy.add_community("earliest", moderators=[cast.alice.id, cast.mod.id])
    by_id = lemmy.add_community("byid", moderators=[cast.bob.id, cast.alice.id])
    neither = lemmy.add_community("neither", moderators=[cast.mod.id, cast.alice.id])
    bad = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, url=bad.url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=BAN)
    pipeline.poll_once(deep=True)
    detail = ban_detail(pipeline, post)
    assert f"/c/{earliest.name}`" in detail and f"/c/{by_id.name}`" in detail, detail
    assert f"/c/{neither.name}`" not in detail


@pytest.mark.parametrize(
    ("fake_lemmy", "said"),
    [
        ("0.19.3", "this Lemmy, 0.19.3, purges instead the files of their avatar"),
        ("0.19.11", None),
        ("unread", "0.19.10 and earlier purge instead the files of their avatar"),
    ],
    indirect=["fake_lemmy"],
)
def test_what_the_ban_takes_of_the_uploads_is_said_of_this_release(
    fake_lemmy, said, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    sidebar = lemmy.add_upload(cast.alice, photos["astronaut"])  # hers, in the sidebar
    lemmy.site.sidebar = f"Welcome ![rules]({sidebar.url})"
    bad = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, url=bad.url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=BAN)
    pipeline.poll_once(deep=True)
    detail = ban_detail(pipeline, post)
    assert sidebar.alias in detail  # named as an upload the site shows
    if said is None:
        assert "purge" not in detail, detail
    else:
        assert detail.count(said) == 1, detail
