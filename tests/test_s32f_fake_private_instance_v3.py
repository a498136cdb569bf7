"""The fake Lemmy 0.19's private instance as 0.19.9 shows it: ``GET /site`` says so in
``site_view.local_site.private_instance`` (and ``federation_enabled``: the LocalSite
row, crates/db_schema/src/source/local_site.rs), and every read that calls
``check_private_instance`` (crates/api_common/src/utils.rs) refuses an anonymous reader
with 400 ``instance_is_private``: post/list, post, comment/list, comment, community,
community/list, user, modlog (apub/src/api/*.rs, api_crud/src/{post,comment,community},
api/src/site/mod_log.rs). A logged-in reader is served. modbot reads a post without its
login first (``read_visitor_first``) and logs in when Lemmy says the instance is private.
"""

from __future__ import annotations

import httpx

from fakelemmy.scenarios import PASSWORD

READS = [
    ("/api/v3/post/list", {}),
    ("/api/v3/post", {"id": "{post}"}),
    ("/api/v3/comment/list", {}),
    ("/api/v3/comment", {"id": "{comment}"}),
    ("/api/v3/community", {"name": "pics"}),
    ("/api/v3/community/list", {}),
    ("/api/v3/user", {"username": "alice"}),
    ("/api/v3/modlog", {}),
]


def _params(params: dict, ids: dict) -> dict:
    return {k: v.format(**ids) for k, v in params.items()}


def test_a_private_instance_says_so_and_refuses_visitors(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="hello")
    comment = lemmy.add_comment(post, cast.alice, content="hi")
    ids = {"post": str(post.id), "comment": str(comment.id)}
    visitor = httpx.Client(base_url=lemmy.url, timeout=10)
    site = visitor.get("/api/v3/site").json()["site_view"]["local_site"]
    assert (site["private_instance"], site["federation_enabled"]) == (False, True)
    for path, params in READS:
        assert visitor.get(path, params=_params(params, ids)).status_code == 200, path

    lemmy.site.private_instance = True
    lemmy.site.federation_enabled = False
    r = visitor.get("/api/v3/site")  # the login page needs it: still served
    assert r.status_code == 200
    site = r.json()["site_view"]["local_site"]
    assert (site["private_instance"], site["federation_enabled"]) == (True, False)
    for path, params in READS:
        r = visitor.get(path, params=_params(params, ids))
        assert (r.status_code, r.json()["error"]) == (400, "instance_is_private"), path

    member = httpx.Client(base_url=lemmy.url, timeout=10)
    jwt = member.post(
        "/api/v3/user/login", json={"username_or_email": "alice", "password": PASSWORD}
    ).json()["jwt"]
    member.headers["Authorization"] = f"Bearer {jwt}"
    for path, params in READS:
        assert member.get(path, params=_params(params, ids)).status_code == 200, path


def test_modbot_reads_a_post_of_a_private_0_19_instance_logged_in(fake_lemmy):
    from modbot.config.settings import Secret
    from modbot.lemmy.v3 import LemmyClient

    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="hello")
    lemmy.site.private_instance = True
    client = LemmyClient(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
    try:
        assert client.post(post.id).id == post.id
        assert client.post(post.id).id == post.id
    finally:
        client.close()
    reads = [(r.path, r.user, r.status) for r in lemmy.requests if r.path == "/api/v3/post"]
    # the visitor's read is refused once; from then on the bot reads logged in
    assert reads == [
        ("/api/v3/post", None, 400),
        ("/api/v3/post", "modbot", 200),
        ("/api/v3/post", "modbot", 200),
    ]


def test_get_site_shows_the_content_warning(fake_lemmy):
    """0.19.9 keeps ``content_warning`` on the Site row (db_schema/src/source/site.rs),
    shown in ``site_view.site``; set, it also shows NSFW to visitors (``show_nsfw`` of
    no local user: db_schema/src/impls/local_user.rs)."""
    lemmy = fake_lemmy
    visitor = httpx.Client(base_url=lemmy.url, timeout=10)
    assert "content_warning" not in visitor.get("/api/v3/site").json()["site_view"]["site"]
    lemmy.site.content_warning = "Adults only"
    site = visitor.get("/api/v3/site").json()["site_view"]["site"]
    assert site["content_warning"] == "Adults only"
