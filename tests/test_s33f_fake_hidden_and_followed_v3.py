"""Lemmy 0.19's hidden communities and follows, as the fake shows them.

Facts, LemmyNet/lemmy 0.19.9 (the same to 0.19.20):
- ``CommunityFollower::select_subscribed_type``: no follower row -> NotSubscribed, a row
  with ``pending`` -> Pending, else Subscribed; in ``CommunityView``, ``PostView``
  (db_views/src/post_view.rs:173-187) and ``CommentView`` (comment_view.rs:64-74).
- ``PostQuery`` (post_view.rs:341-382) and ``CommentQuery`` (comment_view.rs:217-240):
  ``Subscribed`` lists the communities with a follower row (pending too); ``All`` and
  ``Local`` a hidden community's items only to its followers (admins no differently);
  ``ModeratorView`` has no hidden filter; a profile's posts (``GET /user``: no listing
  type) never a hidden community's (:379-382), its comments have no such filter.
- ``CommunityQuery`` (db_views_actor/src/community_view.rs:118-151): a hidden community
  to admins and its followers; ``Subscribed``: a follower row.
Every answer validates against lemmy-js-client 0.19.9's schemas.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jsonschema
from test_s25a_removed_post_comments import _client

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.source import Source
from modbot.store import Store

SCHEMAS = Path(__file__).parent / "schemas"


def _login(lemmy, name: str) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    r = c.post("/api/v3/user/login", json={"username_or_email": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def _get(client: httpx.Client, path: str, schema: str, **params) -> dict:
    r = client.get(f"/api/v3{path}", params=params)
    assert r.status_code == 200, r.text
    jsonschema.validate(r.json(), json.loads((SCHEMAS / f"{schema}.json").read_text()))
    return r.json()


def _posts(client, **params) -> list[int]:
    return [
        v["post"]["id"] for v in _get(client, "/post/list", "GetPostsResponse", **params)["posts"]
    ]


def _comments(client, **params) -> list[int]:
    body = _get(client, "/comment/list", "GetCommentsResponse", **params)
    return [v["comment"]["id"] for v in body["comments"]]


def _communities(client, **params) -> dict[int, dict]:
    body = _get(client, "/community/list", "ListCommunitiesResponse", limit=50, **params)
    return {v["community"]["id"]: v for v in body["communities"]}


def test_a_hidden_community_is_its_followers_alone_admins_too():
    with FakeLemmy() as lemmy:
        cast = standard_cast(lemmy)
        quiet = lemmy.add_community("quiet", hidden=True, moderators=[cast.mod.id])
        post = lemmy.add_post(quiet, cast.alice, name="in a hidden community")
        comment = lemmy.add_comment(post, cast.alice, content="a comment")
        shown = lemmy.add_post(cast.pics, cast.alice, name="elsewhere")
        admin, alice, mod = _login(lemmy, "admin"), _login(lemmy, "alice"), _login(lemmy, "mod")

        assert _posts(admin, type_="All", sort="New") == [shown.id]
        assert _posts(admin, community_id=quiet.id) == []  # a community listing is `All`
        assert _comments(admin, type_="All", post_id=post.id) == []
        assert post.id in _posts(mod, type_="ModeratorView")  # no hidden filter there
        listed = _communities(admin, type_="All")
        assert listed[quiet.id]["community"]["hidden"] is True
        assert listed[quiet.id]["subscribed"] == "NotSubscribed"
        assert quiet.id not in _communities(alice, type_="All")  # not an admin
        # a profile: posts never, comments always
        person = _get(admin, "/user", "GetPersonDetailsResponse", person_id=cast.alice.id)
        assert [v["post"]["id"] for v in person["posts"]] == [shown.id]
        assert [v["comment"]["id"] for v in person["comments"]] == [comment.id]

        lemmy.follow(quiet, cast.admin)
        assert _posts(admin, type_="All", sort="New") == [shown.id, post.id]
        assert _comments(admin, type_="All", post_id=post.id) == [comment.id]
        detail = _get(admin, "/post", "GetPostResponse", id=post.id)
        assert detail["post_view"]["subscribed"] == "Subscribed"
        assert detail["community_view"]["subscribed"] == "Subscribed"
        person = _get(admin, "/user", "GetPersonDetailsResponse", person_id=cast.alice.id)
        assert [v["post"]["id"] for v in person["posts"]] == [shown.id]


def test_subscribed_lists_every_follower_row_pending_ones_too():
    with FakeLemmy() as lemmy:
        cast = standard_cast(lemmy)
        far = lemmy.add_community("farpics", local=False, instance="far.example")
        mine = lemmy.add_post(far, cast.bob)
        lemmy.add_post(cast.pics, cast.alice)
        lemmy.follow(far, cast.alice, state="pending")  # the remote Accept not come yet
        alice = _login(lemmy, "alice")
        assert _posts(alice, type_="Subscribed") == [mine.id]
        assert list(_communities(alice, type_="Subscribed")) == [far.id]
        view = _get(alice, "/community", "GetCommunityResponse", id=far.id)
        assert view["community_view"]["subscribed"] == "Pending"
        (listed,) = _get(alice, "/post/list", "GetPostsResponse", type_="Subscribed")["posts"]
        assert listed["subscribed"] == "Pending"
        lemmy.follow(far, cast.alice, state=None)
        assert _posts(alice, type_="Subscribed") == []


def test_my_user_lists_the_follows_by_title_pending_ones_too():
    # db_views_actor/src/community_follower_view.rs:78-90 (for_person)
    with FakeLemmy() as lemmy:
        cast = standard_cast(lemmy)
        zoo = lemmy.add_community("zoo", title="Zoo")
        far = lemmy.add_community("apes", local=False, instance="far.example", title="Apes")
        gone = lemmy.add_community("gone", removed=True)
        for community, state in ((zoo, "accepted"), (far, "pending"), (gone, "accepted")):
            lemmy.follow(community, cast.alice, state=state)
        site = _get(_login(lemmy, "alice"), "/site", "GetSiteResponse")
        follows = site["my_user"]["follows"]
        assert [f["community"]["name"] for f in follows] == ["apes", "zoo"]
        assert {f["follower"]["id"] for f in follows} == {cast.alice.id}


def test_modbot_names_a_hidden_community_it_cannot_read(tmp_path):
    with FakeLemmy() as lemmy:
        cast = standard_cast(lemmy)
        quiet = lemmy.add_community("quiet", hidden=True)
        post = lemmy.add_post(quiet, cast.alice, name="in a hidden community")
        lemmy.add_comment(post, cast.bob, content="a comment")
        shown = lemmy.add_post(cast.pics, cast.alice, name="elsewhere")
        lemmy.cast = cast
        said: list[str] = []
        client = _client(lemmy)
        store = Store(tmp_path / "s.sqlite3")
        try:
            source = Source(client, store, scope="t", uploads=False, warn=said.append)
            read = [i.id for batch in source.walk() for i in batch if i.kind == "post"]
            assert read == [shown.id]
            named = [w for w in said if f"community {quiet.id}" in w]
            assert len(named) == 1 and "hidden" in named[0], said
        finally:
            client.close()
            store.close()
