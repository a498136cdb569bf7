"""The real, unmodified pythorhead 0.34.3 works against the fake Lemmy.

modbot acts through pythorhead, so the fake must answer what pythorhead sends: nodeinfo
in its constructor (2.0 redirects to 2.1), Bearer auth on 0.19, its JSON bodies.
"""

from __future__ import annotations

import time

import pytest
from pythorhead import Lemmy
from pythorhead.types import CommentSortType, ListingType, SortType

from fakelemmy.scenarios import PASSWORD


@pytest.fixture
def lemmy_client(fake_lemmy):
    client = Lemmy(fake_lemmy.url, raise_exceptions=True, request_timeout=5)
    assert client.log_in("modbot", PASSWORD)
    return client


def test_constructor_reads_nodeinfo_and_login(fake_lemmy, lemmy_client):
    assert str(lemmy_client.instance_version) == "0.19.9"
    site = lemmy_client.site.get()
    assert site["my_user"]["local_user_view"]["person"]["name"] == "modbot"
    stranger = Lemmy(fake_lemmy.url, raise_exceptions=True)
    with pytest.raises(Exception, match="incorrect_login"):
        stranger.log_in("modbot", "wrong")


def test_list_posts_and_comments(fake_lemmy, lemmy_client):
    cast = fake_lemmy.cast
    older = fake_lemmy.add_post(cast.pics, cast.alice, name="older")
    newer = fake_lemmy.add_post(cast.pics, cast.bob, name="newer", url="https://x.example/a.jpg")
    comment = fake_lemmy.add_comment(newer, cast.alice, content="![a](https://x.example/b.png)")
    posts = lemmy_client.post.list(sort=SortType.New, type_=ListingType.All, limit=50)
    assert [p["post"]["id"] for p in posts] == [newer.id, older.id]
    comments = lemmy_client.comment.list(sort=CommentSortType.New, type_=ListingType.All)
    assert [c["comment"]["id"] for c in comments] == [comment.id]
    assert lemmy_client.post.get(newer.id)["post_view"]["post"]["url"] == "https://x.example/a.jpg"


def test_remove_report_and_message(fake_lemmy, lemmy_client):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    comment = fake_lemmy.add_comment(post, cast.bob)
    assert lemmy_client.post.report(post.id, "modbot: nsfw")["post_report_view"]
    assert lemmy_client.comment.report(comment.id, "modbot: gore")["comment_report_view"]
    assert lemmy_client.post.remove(post.id, True, "modbot: nsfw")["post_view"]["post"]["removed"]
    removed = lemmy_client.comment.remove(comment.id, True, "modbot: gore")
    assert removed["comment_view"]["comment"]["removed"]
    message = lemmy_client.private_message.create("modbot removed a post", cast.admin.id)
    assert message["private_message_view"]["recipient"]["id"] == cast.admin.id
    assert fake_lemmy.post(post.id).removed and fake_lemmy.comment(comment.id).removed
    assert [r.reason for r in fake_lemmy.reports] == ["modbot: nsfw", "modbot: gore"]
    assert [m.content for m in fake_lemmy.private_messages] == ["modbot removed a post"]


def test_ban_and_community_ban(fake_lemmy, lemmy_client, photos):
    cast = fake_lemmy.cast
    upload = fake_lemmy.add_upload(cast.alice, photos["coffee"])
    # 0.19.9's remove_data purges the pict-rs image a post shows (not other uploads)
    post = fake_lemmy.add_post(cast.pics, cast.alice, url=upload.url)
    expires = int(time.time()) + 7 * 86400
    banned = lemmy_client.user.ban(True, expires, cast.alice.id, "modbot: csam", True)
    assert banned["banned"] is True
    person = fake_lemmy.person(cast.alice.id)
    assert person.banned and int(person.ban_expires.timestamp()) == expires
    assert fake_lemmy.post(post.id).removed and not fake_lemmy.image_exists(upload.alias)
    with pytest.raises(Exception, match="not_higher_admin"):
        lemmy_client.user.ban(True, None, cast.admin.id, "never", False)
    assert not fake_lemmy.person(cast.admin.id).banned
    result = lemmy_client.community.ban_user(True, None, cast.bob.id, cast.pics.id, "spam")
    assert result["banned"] and (cast.pics.id, cast.bob.id) in fake_lemmy.community_bans


def test_purges(fake_lemmy, lemmy_client, photos):
    cast = fake_lemmy.cast
    upload = fake_lemmy.add_upload(cast.alice, photos["grace_hopper"])
    post = fake_lemmy.add_post(cast.pics, cast.alice, url=upload.url)
    other = fake_lemmy.add_post(cast.pics, cast.bob)
    comment = fake_lemmy.add_comment(other, cast.alice)
    assert lemmy_client.comment.purge(comment.id, "x") == {"success": True}
    assert lemmy_client.post.purge(post.id, "modbot: csam") == {"success": True}
    assert fake_lemmy.post(post.id).purged and fake_lemmy.comment(comment.id).purged
    assert upload.alias in fake_lemmy.purged_images
    assert lemmy_client.user.purge(cast.alice.id, "x") == {"success": True}
    alice = fake_lemmy.person(cast.alice.id)  # 0.19.9 keeps the row: deleted and banned
    assert alice.deleted and alice.banned


def test_relogin_after_token_drop(fake_lemmy, lemmy_client):
    post = fake_lemmy.add_post(fake_lemmy.cast.pics, fake_lemmy.cast.alice)
    fake_lemmy.invalidate_tokens("modbot")
    with pytest.raises(Exception, match="incorrect_login"):
        lemmy_client.post.remove(post.id, True)
    assert lemmy_client.relog_in()
    assert lemmy_client.post.remove(post.id, True)["post_view"]["post"]["removed"]
