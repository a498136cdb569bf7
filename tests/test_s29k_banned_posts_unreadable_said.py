"""A sweep that cannot read a banned person's removed posts, or a removed post the
modlog names, for another reason than its being gone says so.

Before: any refusal there (`GET /user`, `GET /post`) was logged at INFO only, as if the
person or post had been purged: a Lemmy answering 400 `unknown` to those reads left every
post a site ban removed, and their comments, unread, and the sweep's warnings and
summary said nothing. Now a refusal that is not Lemmy's "not found" is a warning (said
again at the end and in the report); a person or post purged since stays quiet."""

from __future__ import annotations

import pytest

from fakelemmy.scenarios import PASSWORD
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient
from modbot.source import Source
from modbot.store import Store


def _client(lemmy, who="modbot"):
    return LemmyClient(lemmy.url, who, Secret(PASSWORD), requests_per_minute=0, read_only=True)


def _ban_with_data(lemmy, person_id):
    admin = _client(lemmy, "admin")
    admin.read_only = False
    try:
        admin.ban_site(person_id, "spam", expires=None, remove_data=True)
    finally:
        admin.close()


def _walk(lemmy, tmp_path) -> tuple[list[tuple[str, int]], list[str]]:
    warned: list[str] = []
    client = _client(lemmy)
    try:
        store = Store(tmp_path / "s.sqlite3")
        source = Source(client, store, scope="t", uploads=False, warn=warned.append)
        walked = [(i.kind, i.id) for batch in source.walk() for i in batch]
        return walked, warned
    finally:
        client.close()


@pytest.mark.parametrize("error", ["unknown", "couldnt_find_person"])
def test_a_banned_persons_posts_that_cannot_be_read_are_said(fake_lemmy, tmp_path, error):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="p")
    _ban_with_data(lemmy, cast.alice.id)
    lemmy.fail_next("/api/v3/user", status=400, error=error)
    walked, warned = _walk(lemmy, tmp_path)
    assert ("post", post.id) not in walked
    said = [w for w in warned if f"person {cast.alice.id}" in w]
    if error == "couldnt_find_person":  # purged since: nothing left to read
        assert said == [], warned
    else:
        assert len(said) == 1 and "HTTP 400 unknown" in said[0] and "not read" in said[0], warned


def test_a_removed_post_that_cannot_be_read_is_said(fake_lemmy, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="p")
    admin = _client(lemmy, "admin")
    admin.read_only = False
    try:
        admin.remove_post(post.id, "spam")
    finally:
        admin.close()
    lemmy.fail_next("/api/v3/post", status=400, error="unknown")
    walked, warned = _walk(lemmy, tmp_path)
    assert ("post", post.id) not in walked
    said = [w for w in warned if f"removed post {post.id}" in w]
    assert len(said) == 1 and "HTTP 400 unknown" in said[0] and "not read" in said[0], warned
