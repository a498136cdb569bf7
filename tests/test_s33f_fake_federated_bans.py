"""Site bans from other instances as they reach this one, by release.

Facts, LemmyNet/lemmy:
- 1.0.0-beta.1, crates/apub/activities/src/block/block_user.rs ``receive``: any
  instance's site ban is an ``instance_actions`` row for that instance, a modlog
  ``admin_ban`` line by its admin; with ``remove_data``, the home instance's runs
  ``remove_or_restore_user_data`` (api_utils/src/utils.rs:515: posts, comments removed,
  profile cleared, modlog children of the ban), another's ``update_removed_for_instance``
  (activities/src/block/mod.rs:117-133: the person's posts and comments in that
  instance's communities, no modlog rows). undo_block_user.rs restores with
  ``restore_data``.
- 1.0 views (db_schema/src/utils/queries/selects.rs): a post's or comment's
  ``creator_banned`` is the ban here, at home or by the community's instance
  (``creator_local_home_community_banned``); a post's ``creator_ban_expires_at`` only
  here or at home (db_views/post/src/lib.rs:81-88), a comment's the three
  (db_views/comment/src/lib.rs:78-85); ``PersonView.banned`` here or at home
  (db_views/person/src/lib.rs:40-47).
- 0.19.9, apub/src/activities/block/block_user.rs: ``verify`` refuses a site ban of a
  person by another instance than theirs (``verify_domains_match(site, object)``);
  ``receive`` of the home one's runs ``remove_user_data`` with ``remove_data``;
  undo_block_user.rs restores nothing.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import jsonschema

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from fakelemmy.state import now
from modbot.config.settings import Secret
from modbot.lemmy.v4 import LemmyClientV4

SCHEMAS = Path(__file__).parent / "schemas"


def _login(lemmy, name: str, path: str = "/api/v4/account/auth/login") -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    r = c.post(path, json={"username_or_email": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def _get(client: httpx.Client, path: str, schema: str, **params) -> dict:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    jsonschema.validate(r.json(), json.loads((SCHEMAS / f"{schema}.json").read_text()))
    return r.json()


def test_1_0_a_ban_by_a_remote_community_s_instance_shows_on_its_communities_alone():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        far = lemmy.add_community("farpics", local=False, instance="far.example")
        there = lemmy.add_post(far, cast.bob, name="there")
        said = lemmy.add_comment(there, cast.bob, content="hi there")
        here = lemmy.add_post(cast.pics, cast.bob, name="here")
        ends = now() + timedelta(days=7)
        assert lemmy.ban_by_instance(
            cast.bob, "far.example", reason="spam", expires=ends, remove_data=True
        )
        admin = _login(lemmy, "admin")

        person = _get(admin, "/api/v4/person", "v4/GetPersonDetailsResponse", person_id=cast.bob.id)
        assert person["person_view"]["banned"] is False  # here or at home only
        view = _get(admin, "/api/v4/post", "v4/GetPostResponse", id=there.id)["post_view"]
        assert view["creator_banned"] is True
        assert "creator_ban_expires_at" not in view  # a post view's end: here or home only
        assert view["post"]["removed"] is True and "updated_at" in view["post"]
        other = _get(admin, "/api/v4/post", "v4/GetPostResponse", id=here.id)["post_view"]
        assert other["creator_banned"] is False and other["post"]["removed"] is False
        comments = _get(admin, "/api/v4/comment/list", "v4/GetCommentsResponse", post_id=there.id)[
            "items"
        ]
        (comment,) = comments
        assert comment["comment"]["id"] == said.id and comment["comment"]["removed"] is True
        assert comment["creator_banned"] is True
        assert comment["creator_ban_expires_at"].startswith(ends.strftime("%Y-%m-%dT%H:%M:%S"))
        lines = _get(
            admin,
            "/api/v4/modlog",
            "v4/GetModlogResponse",
            type_="admin_ban",
            other_person_id=cast.bob.id,
        )["items"]
        (line,) = lines
        assert line["moderator"]["local"] is False and line["modlog"]["reason"] == "spam"
        removals = _get(admin, "/api/v4/modlog", "v4/GetModlogResponse", type_="mod_remove_post")[
            "items"
        ]
        assert removals == []  # update_removed_for_instance writes none

        # modbot reads the person's ban on this instance: none
        client = LemmyClientV4(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
        try:
            assert client.person(cast.bob.id).banned is False
        finally:
            client.close()

        # lifted there with restore_data: restored
        assert lemmy.ban_by_instance(cast.bob, "far.example", ban=False, remove_data=True)
        view = _get(admin, "/api/v4/post", "v4/GetPostResponse", id=there.id)["post_view"]
        assert view["creator_banned"] is False and view["post"]["removed"] is False


def test_0_19_refuses_a_ban_by_another_instance_than_the_person_s_home():
    with FakeLemmy() as lemmy:
        cast = standard_cast(lemmy)
        far = lemmy.add_community("farpics", local=False, instance="far.example")
        there = lemmy.add_post(far, cast.bob)
        assert lemmy.ban_by_instance(cast.bob, "far.example", remove_data=True) is False
        assert cast.bob.banned is False and lemmy.post(there.id).removed is False
        assert lemmy.modlog == []


def test_1_0_a_home_ban_with_remove_data_removes_all_and_its_lifting_restores():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.bob)
        comment = lemmy.add_comment(post, cast.bob)
        cast.bob.bio = "about me"
        lemmy.ban_at_home(cast.bob, reason="spam at home", remove_data=True)
        assert lemmy.post(post.id).removed and lemmy.comment(comment.id).removed
        assert cast.bob.bio is None
        admin = _login(lemmy, "admin")
        removals = _get(
            admin,
            "/api/v4/modlog",
            "v4/GetModlogResponse",
            type_="mod_remove_post",
            show_bulk="true",
        )["items"]
        (row,) = removals
        assert row["moderator"]["local"] is False and row["modlog"]["reason"] == "spam at home"
        lemmy.ban_at_home(cast.bob, ban=False, reason="forgiven", remove_data=True)
        assert not lemmy.post(post.id).removed and not lemmy.comment(comment.id).removed


def test_0_19_a_home_ban_with_remove_data_removes_and_its_lifting_restores_nothing():
    with FakeLemmy() as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.bob)
        comment = lemmy.add_comment(post, cast.bob)
        cast.bob.bio = "about me"
        lemmy.ban_at_home(cast.bob, remove_data=True)
        assert lemmy.post(post.id).removed and lemmy.comment(comment.id).removed
        assert cast.bob.banned is True and cast.bob.bio is None
        admin = _login(lemmy, "admin", "/api/v3/user/login")
        view = _get(admin, "/api/v3/user", "GetPersonDetailsResponse", person_id=cast.bob.id)
        assert view["person_view"]["person"]["banned"] is True
        lemmy.ban_at_home(cast.bob, ban=False, remove_data=True)
        assert cast.bob.banned is False and lemmy.post(post.id).removed
