"""The fake Lemmy 0.19's removals, as Lemmy 0.19.4-0.19.20 does them (read from
LemmyNet/lemmy, crates/api_crud/src/post/remove.rs and comment/remove.rs)."""

from __future__ import annotations

import httpx

from fakelemmy.scenarios import PASSWORD


def client(lemmy, name: str) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    r = c.post("/api/v3/user/login", json={"username_or_email": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def test_removing_a_post_or_comment_resolves_its_reports(fake_lemmy):
    """`PostReport::resolve_all_for_object` / `CommentReport::...` right after the
    update: every report on the item is resolved, by whoever removed (or restored) it;
    the reports on other items stay open."""
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    other = fake_lemmy.add_post(cast.pics, cast.alice, name="other")
    comment = fake_lemmy.add_comment(other, cast.alice)
    fake_lemmy.add_person("reporter", password=PASSWORD)
    reporters = [client(fake_lemmy, "reporter"), client(fake_lemmy, "admin")]
    for reporter in reporters:
        for path, body in (
            ("/api/v3/post/report", {"post_id": post.id, "reason": "spam"}),
            ("/api/v3/post/report", {"post_id": other.id, "reason": "spam"}),
            ("/api/v3/comment/report", {"comment_id": comment.id, "reason": "spam"}),
        ):
            assert reporter.post(path, json=body).status_code == 200
    bot = client(fake_lemmy, "modbot")
    r = bot.post("/api/v3/post/remove", json={"post_id": post.id, "removed": True})
    assert r.status_code == 200, r.text
    r = bot.post("/api/v3/comment/remove", json={"comment_id": comment.id, "removed": True})
    assert r.status_code == 200, r.text

    def listed(kind: str) -> dict[int, tuple[bool, int | None]]:
        r = bot.get(f"/api/v3/{kind}/report/list", params={"limit": 50})
        assert r.status_code == 200, r.text
        views = r.json()[f"{kind}_reports"]
        return {
            v[f"{kind}_report"]["id"]: (
                v[f"{kind}_report"]["resolved"],
                v[f"{kind}_report"].get("resolver_id"),
            )
            for v in views
        }

    resolved = {(r.kind, r.target_id): (r.resolved, r.resolver_id) for r in fake_lemmy.reports}
    assert resolved == {
        ("post", post.id): (True, cast.bot.id),
        ("post", other.id): (False, None),
        ("comment", comment.id): (True, cast.bot.id),
    }
    posts, comments = listed("post"), listed("comment")
    for report in fake_lemmy.reports:
        shown = (posts if report.kind == "post" else comments)[report.id]
        assert shown == (report.resolved, report.resolver_id)
    assert len(fake_lemmy.reports) == 6


def test_removing_takes_a_higher_mod_or_admin_and_no_deleted_comment(fake_lemmy):
    """`LocalUser::is_higher_mod_or_admin_check` (0.19.9 on): of the remover and the
    author, the first in (local admins oldest first, then the community's mods by
    seniority) must be the remover, else 400 `not_higher_mod`; a comment its author
    deleted is not removed (0.19.4 on: `couldnt_update_comment`)."""
    cast = fake_lemmy.cast
    junior = fake_lemmy.add_person("junior", password=PASSWORD)
    cast.pics.moderators.append(junior.id)
    as_ = {name: client(fake_lemmy, name) for name in ("admin", "modbot", "mod", "junior")}
    by = {
        "admin": cast.admin,
        "modbot": cast.bot,
        "mod": cast.mod,
        "junior": junior,
        "alice": cast.alice,
    }
    for remover, author, status in (
        ("modbot", "admin", 400),  # a newer admin: not over an older one
        ("admin", "modbot", 200),
        ("mod", "modbot", 400),  # a mod: not over an admin
        ("mod", "junior", 200),
        ("junior", "mod", 400),  # a newer mod: not over an older one
        ("mod", "mod", 200),
        ("junior", "alice", 200),
    ):
        post = fake_lemmy.add_post(cast.pics, by[author])
        comment = fake_lemmy.add_comment(post, by[author])
        for path, body in (
            ("/api/v3/post/remove", {"post_id": post.id, "removed": True}),
            ("/api/v3/comment/remove", {"comment_id": comment.id, "removed": True}),
        ):
            r = as_[remover].post(path, json=body)
            assert r.status_code == status, (remover, author, path, r.text)
            if status == 400:
                assert r.json() == {"error": "not_higher_mod"}
        assert fake_lemmy.post(post.id).removed == (status == 200)
        assert fake_lemmy.comment(comment.id).removed == (status == 200)
    deleted = fake_lemmy.add_comment(fake_lemmy.add_post(cast.pics, cast.alice), cast.alice)
    fake_lemmy.comment(deleted.id).deleted = True
    r = as_["modbot"].post(
        "/api/v3/comment/remove", json={"comment_id": deleted.id, "removed": True}
    )
    assert (r.status_code, r.json()) == (400, {"error": "couldnt_update_comment"})
    assert not fake_lemmy.comment(deleted.id).removed
