"""What the Lemmy layer makes of answers to /site, /account and the report lists that
Lemmy (or something in front of it) sends malformed or from an older 0.19."""

from __future__ import annotations

import pytest

from fakelemmy.scenarios import PASSWORD
from modbot.config.settings import Secret
from modbot.errors import LemmyBadAnswer, LemmyError
from modbot.lemmy import LemmyClient, LemmyClientV4


def client_of(lemmy, **options):
    client_class = LemmyClient if lemmy.api_version == "v3" else LemmyClientV4
    return client_class(lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, **options)


SPOILS = {
    # name: (the spoiled answer, the path of 1.0's answer it spoils; None: 0.19 only)
    "admin-without-person": (lambda body: {**body, "admins": [{"person": None}]}, "site"),
    "null-admin": (lambda body: {**body, "admins": [None]}, "site"),
    "null-language": (lambda body: {**body, "all_languages": [None]}, "site"),
    "site-text": (lambda body: {**body, "site_view": {"site": "lemmy"}}, "site"),
    # a null custom emoji (0.19) is left out, the session kept: test_s30k_site_emojis_malformed_v3
    "no-user-view": (lambda body: {**body, "my_user": {"local_user_view": None}}, None),
    "account-without-user-view": (lambda body: {**body, "local_user_view": None}, "account"),
}


@pytest.mark.both_lemmys
@pytest.mark.parametrize("name", SPOILS)
def test_a_malformed_site_answer_is_a_bad_answer_not_a_traceback(fake_lemmy, name):
    # The session reads /site at start and every few minutes: a proxy's or a broken
    # Lemmy's answer is said as Lemmy answering wrongly (the cycle fails with the message
    # and the next tries again), never a TypeError the CLI shows as a traceback.
    lemmy = fake_lemmy
    spoil, v4_path = SPOILS[name]
    if lemmy.api_version == "v3":
        if v4_path == "account":
            pytest.skip("0.19 has no GET /account")
        path = "/api/v3/site"
    elif v4_path is None:
        pytest.skip("1.0's /site has no my_user nor custom_emojis")
    else:
        path = f"/api/v4/{v4_path}"
    client = client_of(lemmy)
    lemmy.tamper(path, spoil)
    with pytest.raises(LemmyBadAnswer, match=r"/(site|account): Lemmy's answer is malformed"):
        client.check_session()
    with pytest.raises(LemmyBadAnswer, match=r"/(site|account): Lemmy's answer is malformed"):
        client.site_info()
    lemmy.tamper(path, None)
    assert client.check_session().account is not None
    client.close()


@pytest.mark.both_lemmys
def test_the_reporters_of_an_item_are_those_of_its_own_reports(fake_lemmy):
    # Lemmy before 0.19.4 ignores report/list's post_id and comment_id (LemmyNet/lemmy
    # #4492): it answers every report. The bot's report on another item must not read as
    # a report on this one (a killed run's report would be taken as sent, and lost).
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.bob, name="reported")
    other = lemmy.add_post(cast.pics, cast.bob, name="not reported")
    comment = lemmy.add_comment(post, cast.bob, content="reported")
    other_comment = lemmy.add_comment(post, cast.bob, content="not reported")
    client = client_of(lemmy)
    bot = client.check_session().account.person_id
    client.report_post(post.id, "spam")
    client.report_comment(comment.id, "spam")
    assert client.reporters("post", post.id) == [bot]
    assert client.reporters("comment", comment.id) == [bot]
    if lemmy.api_version == "v3":  # 0.19.0-0.19.3: every report, whatever the id asked
        for kind, item in (("post", post), ("comment", comment)):
            every = {f"{kind}_reports": client.reports_of(kind, item.id)}
            lemmy.tamper(f"/api/v3/{kind}/report/list", lambda body, every=every: every)
    assert client.reporters("post", other.id) == []
    assert client.reporters("comment", other_comment.id) == []
    assert client.reporters("post", post.id) == [bot]
    assert client.reporters("comment", comment.id) == [bot]
    client.close()


@pytest.mark.both_lemmys
@pytest.mark.parametrize("kind", ["post", "comment"])
def test_a_purge_whose_answer_was_cut_is_done_not_failed(fake_lemmy, kind):
    # Lemmy purged the item but its answer timed out (a proxy, a slow database): the
    # retry finds the item gone. 1.0 says so with its idempotency key (422); 0.19 answers
    # couldnt_find_post: the purge went, and is not recorded as failed.
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.bob, name="purged")
    comment = lemmy.add_comment(post, cast.bob, content="purged")
    client = client_of(lemmy, timeout=1.0, sleep=lambda _: None)
    client.login()
    lemmy.trickle(lemmy.api_path(f"/api/v3/admin/purge/{kind}"), 2, times=1)
    if kind == "post":
        client.purge_post(post.id, "purged")
    else:
        client.purge_comment(comment.id, "purged")
    sent = [r.status for r in lemmy.requests if r.path.endswith(f"/admin/purge/{kind}")]
    assert len(sent) == 2  # the cut answer, then the retry that found it done
    # an item that was never there is still an error, not a purge done
    with pytest.raises(LemmyError):
        client.purge_post(987654, "never there")
    client.close()


@pytest.mark.both_lemmys
@pytest.mark.parametrize("kind", ["post", "comment"])
def test_a_report_whose_answer_was_cut_is_done_not_failed(fake_lemmy, kind):
    # Lemmy keeps one report per reporter and item: the retry of a report that went but
    # whose answer was lost is refused (0.19: couldnt_create_report; 1.0: the idempotency
    # key's 422). The report is there: done, not failed.
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.bob, name="reported")
    comment = lemmy.add_comment(post, cast.bob, content="reported")
    client = client_of(lemmy, timeout=1.0, sleep=lambda _: None)
    bot = client.check_session().account.person_id
    lemmy.trickle(lemmy.api_path(f"/api/v3/{kind}/report"), 2, times=1)
    if kind == "post":
        client.report_post(post.id, "spam")
    else:
        client.report_comment(comment.id, "spam")
    assert client.reporters(kind, post.id if kind == "post" else comment.id) == [bot]
    sent = [r for r in lemmy.requests if r.path.endswith(f"/{kind}/report")]
    assert len(sent) == 2  # the cut answer, then the retry that found it done
    client.close()


@pytest.mark.both_lemmys
def test_a_private_message_whose_answer_was_cut_is_not_sent_twice(fake_lemmy):
    # Lemmy stored the message but its answer was lost: a plain retry would store a
    # second copy (0.19 has no idempotency keys; 1.0 drops the retry by its key). The
    # 0.19 client asks the bot's sent messages before it retries.
    lemmy = fake_lemmy
    client = client_of(lemmy, timeout=1.0, sleep=lambda _: None)
    admin = sorted(client.check_session().admin_ids)[0]
    lemmy.trickle(lemmy.api_path("/api/v3/private_message"), 2, times=1)
    client.private_message(admin, "look at post 1 (modbot message m1)", key="m1")
    copies = [m for m in lemmy.private_messages if m.content.endswith("(modbot message m1)")]
    assert [m.recipient_id for m in copies] == [admin]
    # an answer lost before Lemmy stored it: the retry sends it
    lemmy.fail_next(lemmy.api_path("/api/v3/private_message"), status=502)
    client.private_message(admin, "look at post 2 (modbot message m2)", key="m2")
    copies = [m for m in lemmy.private_messages if m.content.endswith("(modbot message m2)")]
    assert [m.recipient_id for m in copies] == [admin]
    client.close()
