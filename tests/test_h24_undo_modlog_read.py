"""The Lemmy client reads who acted last on a post, comment or person from Lemmy's
modlog (`LemmyApi.last_mod_action`), on Lemmy 0.19 (`GET /api/v3/modlog`) and 1.0
(`GET /api/v4/modlog`): the newest line, whether it undid the one before (a restore, an
unban), who (when Lemmy shows it), when, and a ban's end. Against the fake Lemmy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fakelemmy.scenarios import PASSWORD
from modbot.config.settings import Settings
from modbot.lemmy import connect

pytestmark = pytest.mark.both_lemmys


def client_of(lemmy, name: str):
    env = {"LEMMY_URL": lemmy.url, "LEMMY_USERNAME": name, "LEMMY_PASSWORD": PASSWORD}
    return connect(
        Settings.from_env(env),
        requests_per_minute=60_000,
        timeout=10,
        read_only=False,
        api_version=lemmy.api_version,
    )


def test_the_newest_removal_of_a_post_and_who_did_it(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="p")
    bot, mod = client_of(lemmy, "modbot"), client_of(lemmy, "mod")
    assert (bot.own_person_id(), mod.own_person_id()) == (cast.bot.id, cast.mod.id)
    assert bot.last_mod_action("remove_post", post.id) is None
    bot.remove_post(post.id, "bot")
    entry = bot.last_mod_action("remove_post", post.id)
    assert entry is not None and not entry.revert
    assert (entry.moderator_id, entry.moderator) == (cast.bot.id, "modbot")
    assert abs(entry.when - datetime.now(UTC)) < timedelta(minutes=1)
    mod.restore_post(post.id, "not abusive")
    entry = bot.last_mod_action("remove_post", post.id)
    assert entry is not None and entry.revert and entry.moderator_id == cast.mod.id
    mod.remove_post(post.id, "my own call")
    entry = bot.last_mod_action("remove_post", post.id)
    assert entry is not None and not entry.revert
    assert (entry.moderator_id, entry.moderator, entry.reason) == (
        cast.mod.id,
        "mod",
        "my own call",
    )
    # a comment's lines are the comment's, not its post's
    comment = lemmy.add_comment(post, cast.alice, content="c")
    assert bot.last_mod_action("remove_comment", comment.id) is None
    mod.remove_comment(comment.id, "spam")
    entry = bot.last_mod_action("remove_comment", comment.id)
    assert entry is not None and entry.moderator_id == cast.mod.id
    assert bot.last_mod_action("remove_post", post.id).reason == "my own call"


def test_the_newest_ban_of_a_person_with_its_end(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bot, admin = client_of(lemmy, "modbot"), client_of(lemmy, "admin")
    until = int((datetime.now(UTC) + timedelta(days=3)).timestamp())
    bot.ban_site(cast.alice.id, "bot", expires=until, remove_data=False)
    admin.unban_site(cast.alice.id, "lifted", restore_data=False)
    entry = bot.last_mod_action("ban", cast.alice.id)
    assert entry is not None and entry.revert and entry.moderator == "admin"
    admin.ban_site(cast.alice.id, "again", expires=None, remove_data=False)
    entry = bot.last_mod_action("ban", cast.alice.id)
    assert entry is not None and not entry.revert and entry.expires is None
    assert entry.moderator_id == cast.admin.id

    bot.ban_community(cast.bob.id, cast.pics.id, "bot", expires=until, remove_data=False)
    entry = bot.last_mod_action("community_ban", cast.bob.id, community_id=cast.pics.id)
    assert entry is not None and entry.moderator_id == cast.bot.id and not entry.revert
    assert entry.expires is not None and abs(entry.expires.timestamp() - until) <= 1
    assert bot.last_mod_action("community_ban", cast.bob.id, community_id=cast.nsfw.id) is None
    assert bot.last_mod_action("ban", cast.bob.id) is None


def test_who_acted_when_lemmy_hides_it_from_the_account(fake_lemmy):
    """A plain account: 0.19 still sends each line's mod_person_id (only the moderator's
    person is left out); 1.0 sends no one."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="p")
    client_of(lemmy, "mod").remove_post(post.id, "x")
    entry = client_of(lemmy, "alice").last_mod_action("remove_post", post.id)
    assert entry is not None and entry.moderator is None
    assert entry.moderator_id == (cast.mod.id if lemmy.api_version == "v3" else None)


def test_a_community_moderator_sees_who_acted_when_it_names_the_community(fake_lemmy):
    """A bot that moderates communities without being an admin: Lemmy (0.19 and 1.0)
    shows it who acted when its modlog read names the community it moderates."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="p")
    mod = client_of(lemmy, "mod")
    mod.remove_post(post.id, "mine")
    entry = mod.last_mod_action("remove_post", post.id, community_id=cast.pics.id)
    assert entry is not None and (entry.moderator_id, entry.moderator) == (cast.mod.id, "mod")
