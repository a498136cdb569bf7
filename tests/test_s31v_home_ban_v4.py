"""Lemmy 1.0's ``PersonView.banned`` (``GET /person``) is true when the person is banned
on this instance *or on their home instance* (``creator_local_home_banned``:
crates/db_schema/src/utils/queries/selects.rs; ``PersonView``:
crates/db_views/person/src/lib.rs), and its ``ban_expires_at`` is either ban's end. A
remote account banned at home only is not banned here: a rule's site ban of it found it
"already banned from the site permanently" and was skipped (nothing sent, the content
never removed by it). The ban of the home instance reaches this one as a modlog
``admin_ban`` line whose moderator is the home instance's admin (apub
block/block_user.rs writes ``ModlogInsertForm::admin_ban``, target_instance = the
moderator's instance: crates/db_schema/src/impls/modlog.rs)."""

from __future__ import annotations

from datetime import timedelta

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from fakelemmy.state import now
from modbot.config.settings import Secret
from modbot.lemmy.v4 import LemmyClientV4


def _home_ban(lemmy, person) -> None:
    """What Lemmy 1.0 holds after ``person``'s home instance banned them: a ban row of
    their instance's own (the view's flag) and the modlog line the federated ban wrote,
    by the remote admin (the fake's ``ban_at_home``)."""
    lemmy.ban_at_home(person, reason="spam at home")


def test_a_ban_on_the_home_instance_only_is_no_ban_here():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        _home_ban(lemmy, cast.bob)
        client = LemmyClientV4(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
        try:
            assert client.person(cast.bob.id).banned is False
        finally:
            client.close()


def test_a_ban_here_on_top_of_the_home_one_is_seen_with_its_end():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        _home_ban(lemmy, cast.bob)
        client = LemmyClientV4(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
        try:
            ends = int((now() + timedelta(days=3)).timestamp())
            client.ban_site(cast.bob.id, "csam", expires=ends, remove_data=False)
            bob = client.person(cast.bob.id)
            assert bob.banned is True
            assert bob.ban_expires is not None and int(bob.ban_expires.timestamp()) == ends
        finally:
            client.close()


def test_a_local_account_banned_here_is_read_from_the_view_alone():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        client = LemmyClientV4(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
        try:
            client.ban_site(cast.alice.id, "csam", expires=None, remove_data=False)
            before = len(lemmy.requests)
            alice = client.person(cast.alice.id)
            assert alice.banned is True and alice.ban_expires is None
            # no modlog read for a local person: their home is this instance
            assert [r.path for r in lemmy.requests[before:]] == ["/api/v4/person"]
        finally:
            client.close()
