"""`LemmyApi.mod_actions_since`: every modlog line of one action on one target later than
a time, newest first, on Lemmy 0.19 (`GET /api/v3/modlog`, page numbers) and 1.0
(`GET /api/v4/modlog`, page cursors): what `modbot undo` reads when the newest line alone
would hide an admin's ban (lifted since, or followed by the bot's own). It reads page
after page only down to that time, and says so rather than answer part of a modlog too
long to read. Against the fake Lemmy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from test_h24_undo_modlog_read import client_of

from fakelemmy.state import ModAction
from modbot.errors import LemmyError
from modbot.lemmy.api import MODLOG_PAGES, PAGE

pytestmark = pytest.mark.both_lemmys


def add_ban_lines(lemmy, person, admin, count: int, start: datetime) -> None:
    """``count`` lines of an admin banning and unbanning ``person``, one a second."""
    with lemmy.state.lock:
        for i in range(count):
            when = start + timedelta(seconds=i)
            action = "ban" if i % 2 == 0 else "unban"
            lemmy.state.modlog.append(ModAction(action, admin.id, person.id, f"n{i}", when))


def modlog_reads(lemmy) -> int:
    path = "/api/v3/modlog" if lemmy.api_version == "v3" else "/api/v4/modlog"
    return sum(1 for r in lemmy.requests if r.path == path)


def test_every_ban_line_since_newest_first(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bot, admin = client_of(lemmy, "modbot"), client_of(lemmy, "admin")
    assert bot.mod_actions_since("ban", cast.alice.id, None) == []
    bot.ban_site(cast.alice.id, "bot", expires=None, remove_data=False)
    admin.unban_site(cast.alice.id, "lifted", restore_data=False)
    admin.ban_site(cast.alice.id, "mine", expires=None, remove_data=True)

    lines = bot.mod_actions_since("ban", cast.alice.id, None)
    assert [(e.moderator_id, e.revert, e.reason) for e in lines] == [
        (cast.admin.id, False, "mine"),
        (cast.admin.id, True, "lifted"),
        (cast.bot.id, False, "bot"),
    ]
    assert lines[0] == bot.last_mod_action("ban", cast.alice.id)
    # later than the bot's ban: the admin's two; later than the newest: none
    assert bot.mod_actions_since("ban", cast.alice.id, lines[2].when) == lines[:2]
    assert bot.mod_actions_since("ban", cast.alice.id, lines[0].when) == []
    assert bot.mod_actions_since("ban", cast.bob.id, None) == []
    assert (
        bot.mod_actions_since("community_ban", cast.alice.id, None, community_id=cast.pics.id) == []
    )

    bot.ban_community(cast.bob.id, cast.pics.id, "bot", expires=None, remove_data=False)
    (line,) = bot.mod_actions_since("community_ban", cast.bob.id, None, community_id=cast.pics.id)
    assert (line.moderator_id, line.revert) == (cast.bot.id, False)
    assert (
        bot.mod_actions_since("community_ban", cast.bob.id, None, community_id=cast.nsfw.id) == []
    )


def test_lines_past_one_page_are_read_down_to_since_and_no_further(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bot = client_of(lemmy, "modbot")
    start = datetime.now(UTC) - timedelta(hours=1)
    add_ban_lines(lemmy, cast.alice, cast.admin, 2 * PAGE + 10, start)

    lemmy.clear_requests()
    lines = bot.mod_actions_since("ban", cast.alice.id, None)
    assert [e.reason for e in lines] == [f"n{i}" for i in reversed(range(2 * PAGE + 10))]
    assert modlog_reads(lemmy) == 3

    lemmy.clear_requests()
    since = start + timedelta(seconds=PAGE + 4.5)  # the lines after n{PAGE + 4}
    lines = bot.mod_actions_since("ban", cast.alice.id, since)
    assert [e.reason for e in lines] == [f"n{i}" for i in reversed(range(PAGE + 5, 2 * PAGE + 10))]
    assert modlog_reads(lemmy) == 2  # the second page reaches it: no third read

    lemmy.clear_requests()
    newest = start + timedelta(seconds=2 * PAGE + 8.5)
    assert [e.reason for e in bot.mod_actions_since("ban", cast.alice.id, newest)] == [
        f"n{2 * PAGE + 9}"
    ]
    assert modlog_reads(lemmy) == 1


def test_a_modlog_too_long_to_read_is_an_error_not_part_of_it(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bot = client_of(lemmy, "modbot")
    start = datetime.now(UTC) - timedelta(days=1)
    add_ban_lines(lemmy, cast.alice, cast.admin, MODLOG_PAGES * PAGE + 1, start)
    lemmy.clear_requests()
    with pytest.raises(LemmyError) as raised:
        bot.mod_actions_since("ban", cast.alice.id, None)
    assert raised.value.error == "modlog_too_long"
    assert f"more than {MODLOG_PAGES * PAGE} lines of ban on {cast.alice.id}" in str(raised.value)
    assert modlog_reads(lemmy) == MODLOG_PAGES
    # since the newest few: read, one page
    recent = bot.mod_actions_since("ban", cast.alice.id, start + timedelta(seconds=990.5))
    assert len(recent) == MODLOG_PAGES * PAGE + 1 - 991


def test_a_bans_removal_of_each_post_is_a_bulk_line_on_1_0(fake_lemmy):
    """1.0 writes a ban's removal on each post of the person (`bulk`, a child of the ban's
    line); 0.19 writes none."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="p")
    bot, admin = client_of(lemmy, "modbot"), client_of(lemmy, "admin")
    bot.remove_post(post.id, "bot")
    admin.ban_site(cast.alice.id, "spam", expires=None, remove_data=True)
    lines = bot.mod_actions_since("remove_post", post.id, None)
    found = [(e.moderator_id, e.revert, e.bulk) for e in lines]
    if lemmy.api_version == "v3":
        assert found == [(cast.bot.id, False, False)]
    else:
        assert found == [(cast.admin.id, False, True), (cast.bot.id, False, False)]
