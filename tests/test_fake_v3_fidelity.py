"""The fake Lemmy 0.19 answers as Lemmy 0.19.9-0.19.20 does where the real one is
stricter than a lenient fake would be (read from LemmyNet/lemmy at tags 0.19.9 and
0.19.20)."""

from __future__ import annotations

import httpx

from fakelemmy.scenarios import PASSWORD


def client(lemmy, name: str | None = None) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    if name is not None:
        r = c.post("/api/v3/user/login", json={"username_or_email": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def test_one_report_per_reporter_and_item(fake_lemmy):
    """`UNIQUE (post_id, creator_id)` / `(comment_id, creator_id)` on the report tables
    (migration 2020-10-13-212240): a second report by the same person is 400
    `couldnt_create_report` (post_report/create.rs `with_lemmy_type`), resolved or not;
    another person may still report the item."""
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    comment = fake_lemmy.add_comment(post, cast.alice)
    bot = client(fake_lemmy, "modbot")
    for path, body in (
        ("/api/v3/post/report", {"post_id": post.id, "reason": "spam"}),
        ("/api/v3/comment/report", {"comment_id": comment.id, "reason": "spam"}),
    ):
        assert bot.post(path, json=body).status_code == 200
        again = bot.post(path, json={**body, "reason": "other words"})
        assert (again.status_code, again.json()) == (400, {"error": "couldnt_create_report"})
    kind_reports = [(r.kind, r.creator_id) for r in fake_lemmy.reports]
    assert kind_reports == [("post", cast.bot.id), ("comment", cast.bot.id)]
    # resolved: still one per reporter and item
    fake_lemmy.reports[0].resolved = True
    again = bot.post("/api/v3/post/report", json={"post_id": post.id, "reason": "spam"})
    assert again.status_code == 400
    other = client(fake_lemmy, "admin")
    r = other.post("/api/v3/post/report", json={"post_id": post.id, "reason": "spam"})
    assert r.status_code == 200, r.text


def test_an_unknown_person_is_couldnt_find_person(fake_lemmy):
    """`GET /user` (apub/src/api/read_person.rs): an id that is not there (a purged
    person) is `PersonView::read(..).ok_or(CouldntFindPerson)`, a 400; a local name that
    is not there a diesel NotFound relabelled `couldnt_find_person`, a 404."""
    cast = fake_lemmy.cast
    bot = client(fake_lemmy, "modbot")
    gone = fake_lemmy.add_person("gone", password=PASSWORD)
    gone.purged = True
    for params, status in (
        ({"person_id": gone.id}, 400),
        ({"person_id": 99_999}, 400),
        ({"username": "nobody"}, 404),
    ):
        r = bot.get("/api/v3/user", params=params)
        assert (r.status_code, r.json()) == (status, {"error": "couldnt_find_person"}), params
    assert bot.get("/api/v3/user", params={"person_id": cast.alice.id}).status_code == 200
