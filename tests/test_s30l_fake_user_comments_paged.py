"""`GET /user` of the fake Lemmy 0.19 pages and sorts a person's comments as Lemmy 0.19 does:
read_person.rs (crates/apub/src/api/read_person.rs, 0.19.9 to 0.19.20) lists them with a
`CommentQuery` given the request's `page` and `limit` (default 10, `limit_and_offset`) and
`sort.map(post_to_comment_sort_type)` (crates/db_schema/src/utils.rs: New, NewComments and
MostComments to New, Old to Old, ...; none: `CommentQuery`'s Hot,
crates/db_views/src/comment_view.rs).
"""

from __future__ import annotations

from datetime import timedelta

import httpx

from fakelemmy.state import now


def test_a_persons_comments_come_a_page_at_a_time(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.admin, name="thread")
    start = now() - timedelta(hours=1)
    made = [
        lemmy.add_comment(post, cast.alice, content=f"c{i}", published=start + timedelta(minutes=i))
        for i in range(13)
    ]
    c = httpx.Client(base_url=lemmy.url, timeout=10)

    def ids(**params) -> list[int]:
        r = c.get("/api/v3/user", params={"person_id": cast.alice.id, **params})
        assert r.status_code == 200, r.text
        return [v["comment"]["id"] for v in r.json()["comments"]]

    newest_first = [x.id for x in reversed(made)]
    assert ids(sort="New") == newest_first[:10]  # limit defaults to 10
    assert ids(sort="New", page=2) == newest_first[10:]
    assert ids(sort="MostComments", limit=5) == newest_first[:5]  # MostComments: New
    assert ids(sort="Old", limit=3) == [x.id for x in made[:3]]
