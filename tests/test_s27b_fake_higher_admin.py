"""The fake Lemmy 0.19 ranks admins as Lemmy 0.19.9+ does (`is_higher_admin_check`,
`is_higher_mod_or_admin_check`): an admin may ban or purge a newer admin and what they
wrote, never an older one; a community's moderator never an admin."""

import time

import httpx


def client(lemmy, username):
    token = httpx.post(
        f"{lemmy.url}/api/v3/user/login", json={"username_or_email": username, "password": "pw"}
    ).json()["jwt"]
    return httpx.Client(base_url=lemmy.url, headers={"Authorization": f"Bearer {token}"})


def test_an_admin_bans_a_newer_admin_not_an_older_one(fake_lemmy):
    cast = fake_lemmy.cast  # "admin" is older than "modbot"
    newer = fake_lemmy.add_person("newer", admin=True, password="pw")
    bot = client(fake_lemmy, "modbot")
    older = bot.post("/api/v3/user/ban", json={"person_id": cast.admin.id, "ban": True})
    assert (older.status_code, older.json()) == (400, {"error": "not_higher_admin"})
    assert not fake_lemmy.person(cast.admin.id).banned
    r = bot.post("/api/v3/user/ban", json={"person_id": newer.id, "ban": True, "reason": "x"})
    assert r.status_code == 200 and r.json()["banned"] is True
    assert fake_lemmy.person(newer.id).banned
    # the older admin outranks both
    admin = client(fake_lemmy, "admin")
    r = admin.post("/api/v3/user/ban", json={"person_id": cast.bot.id, "ban": True})
    assert r.status_code == 200 and fake_lemmy.person(cast.bot.id).banned


def test_purges_rank_the_creator_as_bans_do(fake_lemmy):
    cast = fake_lemmy.cast
    newer = fake_lemmy.add_person("newer", admin=True, password="pw")
    by_older = fake_lemmy.add_post(cast.pics, cast.admin)
    older_comment = fake_lemmy.add_comment(by_older, cast.admin)
    by_newer = fake_lemmy.add_post(cast.pics, newer)
    bot = client(fake_lemmy, "modbot")
    for path, body in (
        ("/api/v3/admin/purge/post", {"post_id": by_older.id}),
        ("/api/v3/admin/purge/comment", {"comment_id": older_comment.id}),
        ("/api/v3/admin/purge/person", {"person_id": cast.admin.id}),
    ):
        r = bot.post(path, json={**body, "reason": "x"})
        assert (r.status_code, r.json()) == (400, {"error": "not_higher_admin"}), path
    assert not fake_lemmy.post(by_older.id).purged
    assert not fake_lemmy.comment(older_comment.id).purged
    r = bot.post("/api/v3/admin/purge/post", json={"post_id": by_newer.id, "reason": "x"})
    assert r.json() == {"success": True} and fake_lemmy.post(by_newer.id).purged
    r = bot.post("/api/v3/admin/purge/person", json={"person_id": newer.id, "reason": "x"})
    assert r.json() == {"success": True} and fake_lemmy.person(newer.id).deleted  # row kept


def test_a_community_ban_ranks_admins_then_moderators(fake_lemmy):
    cast = fake_lemmy.cast
    newer = fake_lemmy.add_person("newer", admin=True, password="pw")
    form = {"community_id": cast.pics.id, "ban": True, "expires": int(time.time()) + 3600}
    mod, bot = client(fake_lemmy, "mod"), client(fake_lemmy, "modbot")
    r = mod.post("/api/v3/community/ban_user", json={**form, "person_id": cast.admin.id})
    assert (r.status_code, r.json()) == (400, {"error": "not_higher_mod"})
    r = bot.post("/api/v3/community/ban_user", json={**form, "person_id": cast.admin.id})
    assert (r.status_code, r.json()) == (400, {"error": "not_higher_mod"})
    r = bot.post("/api/v3/community/ban_user", json={**form, "person_id": newer.id})
    assert r.status_code == 200 and (cast.pics.id, newer.id) in fake_lemmy.community_bans
    r = bot.post("/api/v3/community/ban_user", json={**form, "person_id": cast.mod.id})
    assert r.status_code == 200, "an admin outranks every moderator"


def test_the_bot_never_acts_on_a_newer_admin_though_lemmy_would_let_it(fake_lemmy, tmp_path):
    """The fake no longer refuses every ban of an admin: the bot's own refusal is what
    spares a newer admin (the admin list read from Lemmy), with no request sent."""
    from modbot.actions.executor import Executor
    from modbot.config.settings import Secret
    from modbot.lemmy import LemmyClient
    from modbot.model import PlannedAction, Target
    from modbot.store import Store

    cast = fake_lemmy.cast
    newer = fake_lemmy.add_person("newer", admin=True, password="pw")
    post = fake_lemmy.add_post(cast.pics, newer)
    client = LemmyClient(
        fake_lemmy.url,
        "modbot",
        Secret("pw"),
        requests_per_minute=0,
        pictrs_url=fake_lemmy.pictrs_url,
        pictrs_api_key=Secret(fake_lemmy.pictrs_api_key),
    )
    store = Store(tmp_path / "state.sqlite3")
    try:
        executor = Executor(
            client,
            store,
            run_id="run",
            dry_run=False,
            max_destructive_per_hour=20,
            admin_ids=set(client.admin_ids()),
            bot_person_id=cast.bot.id,
            purge_by_alias=True,
        )
        plan = [
            PlannedAction(kind, "why", params, "a rule")
            for kind, params in (("remove", {}), ("purge_item", {}), ("ban", {"scope": "site"}))
        ]
        target = Target(
            kind="post",
            id=post.id,
            url=f"https://x/post/{post.id}",
            author_id=newer.id,
            community_id=post.community_id,
        )
        outcomes = executor.execute(target, plan)
    finally:
        client.close()
        store.close()
    assert [o.status for o in outcomes] == ["skipped"] * 3
    assert fake_lemmy.mutating_requests() == []
    assert not fake_lemmy.person(newer.id).banned and not fake_lemmy.post(post.id).removed
