"""The fake Lemmy 0.19's `GET /user` lists a person's posts the reader has read even when
the reader's `show_read_posts` is off, as Lemmy 0.19 does: `PostQuery::list`
(crates/db_views/src/post_view.rs, 0.19.9 to 0.19.20) hides read posts only "on non-profile
views" (`if let (None, Some(person_id)) = (options.creator_id, ...)`), and read_person.rs
(crates/apub/src/api/read_person.rs) lists with `creator_id`. `post/list` still hides them.
"""

from __future__ import annotations

import httpx

from fakelemmy.scenarios import PASSWORD


def test_a_read_post_is_listed_in_the_profile_but_not_in_post_list(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="seen")
    other = lemmy.add_post(cast.pics, cast.alice, name="unseen")
    lemmy.person(cast.bot.id).show_read_posts = False
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    form = {"username_or_email": "modbot", "password": PASSWORD}
    c.headers["Authorization"] = f"Bearer {c.post('/api/v3/user/login', json=form).json()['jwt']}"
    assert c.get("/api/v3/post", params={"id": post.id}).status_code == 200  # marks it read
    listed = c.get("/api/v3/post/list", params={"type_": "All", "sort": "New"}).json()
    assert [v["post"]["id"] for v in listed["posts"]] == [other.id]
    profile = c.get("/api/v3/user", params={"person_id": cast.alice.id, "sort": "New"}).json()
    assert [v["post"]["id"] for v in profile["posts"]] == [other.id, post.id]
    assert profile["posts"][1]["read"] is True
