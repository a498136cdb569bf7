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


def test_paging_errors_passed_up_unrelabelled_are_unknown(fake_lemmy):
    """`list_all_media`, the report lists and `private_message/list` pass
    `limit_and_offset`'s QueryBuilderError up with `?`: 400 `unknown` with its text
    (post/list and comment/list relabel it `couldnt_get_posts`/`_comments`)."""
    bot = client(fake_lemmy, "modbot")
    for path in (
        "/api/v3/admin/list_all_media",
        "/api/v3/post/report/list",
        "/api/v3/comment/report/list",
        "/api/v3/private_message/list",
    ):
        for params, message in (
            ({"limit": 51}, "Fetch limit is > 50"),
            ({"limit": 0}, "Fetch limit is > 50"),
            ({"page": 0}, "Page is < 1"),  # page 101: by release, test_s30l_fake_page_cap_*
        ):
            r = bot.get(path, params=params)
            assert (r.status_code, r.json()) == (
                400,
                {"error": "unknown", "message": message},
            ), (path, params)
        assert bot.get(path, params={"limit": 50, "page": 100}).status_code == 200
    r = bot.get("/api/v3/post/list", params={"limit": 51})
    assert (r.status_code, r.json()) == (400, {"error": "couldnt_get_posts"})


def test_report_lists_refuse_who_moderates_nothing(fake_lemmy):
    """`check_community_mod_of_any_or_admin_action`: a user who is no admin and
    moderates no community is refused (400 `not_a_mod_or_admin`), not answered an empty
    list; a moderator gets the reports of their communities."""
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    assert (
        client(fake_lemmy, "modbot")
        .post("/api/v3/post/report", json={"post_id": post.id, "reason": "spam"})
        .status_code
        == 200
    )
    alice = client(fake_lemmy, "alice")
    for kind in ("post", "comment"):
        r = alice.get(f"/api/v3/{kind}/report/list")
        assert (r.status_code, r.json()) == (400, {"error": "not_a_mod_or_admin"})
    mod = client(fake_lemmy, "mod").get("/api/v3/post/report/list").json()
    assert [v["post_report"]["post_id"] for v in mod["post_reports"]] == [post.id]


def test_ban_checks_its_reason_and_a_missing_person_is_couldnt_update_user(fake_lemmy):
    """`ban_person.rs` / `community/ban.rs`: a reason over 10,000 UTF-16 code units is
    400 `invalid_body_field`; banning an id not there fails in `Person::update` with
    its NotFound relabelled: 404 `couldnt_update_user`."""
    cast = fake_lemmy.cast
    bot = client(fake_lemmy, "modbot")
    long = "😀" * 5_001  # 5,001 characters, 10,002 UTF-16 code units
    site = {"person_id": cast.alice.id, "ban": True, "reason": long}
    r = bot.post("/api/v3/user/ban", json=site)
    assert (r.status_code, r.json()) == (400, {"error": "invalid_body_field"})
    community = {**site, "community_id": cast.pics.id}
    r = bot.post("/api/v3/community/ban_user", json=community)
    assert (r.status_code, r.json()) == (400, {"error": "invalid_body_field"})
    assert not fake_lemmy.person(cast.alice.id).banned and not fake_lemmy.community_bans
    r = bot.post("/api/v3/user/ban", json={"person_id": 99_999, "ban": True, "reason": "x"})
    assert (r.status_code, r.json()) == (404, {"error": "couldnt_update_user"})
    ok = bot.post("/api/v3/user/ban", json={**site, "reason": "😀" * 5_000})
    assert ok.status_code == 200 and fake_lemmy.person(cast.alice.id).banned
