"""Lemmy 0.19.0 to 0.19.13 bans a deleted account (the ban and its modlog line are
written), then answers 400 ``couldnt_find_person``: ``PersonView::read`` hides deleted
accounts. The bot recorded the ban that took as failed and sent it again each cycle."""

from __future__ import annotations

import pytest
from support.bot import Bot, remote_photo, sha
from support.policies import BAD, write_rules

from modbot.store import Store

BAN = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      ban: {scope: %s, duration: %s, remove_data: false, reason: "known abusive image"}
"""


@pytest.mark.parametrize("scope", ["site", "community"])
def test_a_ban_of_a_deleted_account_lemmy_0_19_9_wrote_is_recorded_done_and_not_sent_again(
    fake_lemmy, photos, tiny, tmp_path, scope
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    site_ban = scope == "site"
    post = lemmy.add_post(cast.pics, cast.alice, name="bad", url=remote_photo(lemmy, photos, BAD))
    lemmy.person(cast.alice.id).deleted = True  # she deleted her account since
    rules = write_rules(
        tmp_path,
        lemmy,
        tiny,
        known_bad=[sha(photos[BAD])],
        rules=BAN % (scope, "permanent" if site_ban else "7d"),
    )
    bot = Bot(lemmy, tmp_path, rules)

    first = bot("run", "--once")
    if site_ban:
        assert lemmy.person(cast.alice.id).banned
        key = f"site:person:{cast.alice.id}"
    else:
        assert (cast.pics.id, cast.alice.id) in lemmy.community_bans
        key = f"community:{cast.pics.id}:person:{cast.alice.id}"
    store = Store(bot.state)
    try:
        row = store.action("ban", key) or {}
    finally:
        store.close()
    assert row.get("status") == "done", (row, first.stderr[-3000:])
    assert "actions ban:done 1" in first.stderr, first.stderr[-3000:]

    bot("run", "--once")
    bans = [
        r
        for r in lemmy.mutating_requests()
        if r.path in ("/api/v3/user/ban", "/api/v3/community/ban_user")
    ]
    assert len(bans) == 1, [(r.path, r.status) for r in bans]
    assert len(lemmy.modlog) == 1, lemmy.modlog
    assert post.id


def test_couldnt_find_person_for_a_ban_lemmy_did_not_write_stays_a_failure(fake_lemmy):
    from modbot.config.settings import Secret
    from modbot.errors import LemmyError
    from modbot.lemmy.v3 import LemmyClient

    lemmy, cast = fake_lemmy, fake_lemmy.cast
    client = LemmyClient(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
    try:
        lemmy.fail_next("/api/v3/user/ban", status=400, error="couldnt_find_person")
        with pytest.raises(LemmyError) as refused:
            client.ban_site(cast.alice.id, "x", expires=None, remove_data=False)
        assert refused.value.error == "couldnt_find_person"
        assert not lemmy.person(cast.alice.id).banned and not lemmy.modlog
    finally:
        client.close()


SHORT_BAN = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      ban: {scope: site, duration: 7d, remove_data: false, reason: "known abusive image"}
"""


def test_an_admins_permanent_ban_of_a_deleted_account_is_never_shortened(
    fake_lemmy, photos, tiny, tmp_path
):
    """0.19.9 hides the deleted account from ``GET /user``, its ban too: the bot read no
    ban there and sent its 7-day one, which replaced the admin's permanent ban."""
    import httpx

    lemmy, cast = fake_lemmy, fake_lemmy.cast
    lemmy.add_post(cast.pics, cast.alice, name="bad", url=remote_photo(lemmy, photos, BAD))
    lemmy.person(cast.alice.id).deleted = True
    with httpx.Client(base_url=lemmy.url, timeout=10) as admin:
        login = {"username_or_email": "admin", "password": "pw"}
        jwt = admin.post("/api/v3/user/login", json=login).json()["jwt"]
        banned = admin.post(
            "/api/v3/user/ban",
            json={"person_id": cast.alice.id, "ban": True, "reason": "by hand"},
            headers={"Authorization": f"Bearer {jwt}"},
        )
    assert banned.json().get("error") == "couldnt_find_person"  # 0.19.9: written all the same
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=SHORT_BAN)
    lemmy.clear_requests()

    run = Bot(lemmy, tmp_path, rules)("run", "--once")
    assert not [r for r in lemmy.mutating_requests() if r.path == "/api/v3/user/ban"]
    alice = lemmy.person(cast.alice.id)
    assert alice.banned and alice.ban_expires is None
    assert "actions ban:skipped 1" in run.stderr, run.stderr[-3000:]
    audit = Bot(lemmy, tmp_path, rules)("audit", "--json").stdout
    assert "already banned from the site permanently" in audit, audit[-3000:]
