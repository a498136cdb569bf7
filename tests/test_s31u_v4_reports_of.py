"""Lemmy 1.0's report list has no comment filter, but its post_id lists that post's comment
reports too (ReportCombinedQuery::list, crates/db_views/report_combined/src/impls.rs at
1.0.0-beta.1: "Filter by post id, which should still include the comments"). Before,
``LemmyClientV4.reports_of`` looked for the bot's report on a comment among every comment
report it ever made, and stopped after 20 pages without saying so: on a bot with over
1,000 of them, its report on a comment read as never made (after a kill, the report
would be sent again). Now it looks among the comment's post's reports, and a list
longer than it reads is an error, not "not reported"."""

from __future__ import annotations

import pytest

from fakelemmy.state import Report, now
from modbot.config.settings import Secret
from modbot.errors import LemmyError
from modbot.lemmy import LemmyClientV4

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def bot_reports(lemmy, comments) -> None:
    """The bot's reports on ``comments``, newer than any before (as many runs made them)."""
    for comment in comments:
        report = Report(
            lemmy.state.next_id("comment_report"),
            "comment",
            comment.id,
            lemmy.cast.bot.id,
            "known abusive image",
            now(),
            original_name=comment.content,
        )
        comment.reports.append(report)
        lemmy.state.reports.append(report)


def test_the_bots_report_on_a_comment_is_found_past_a_thousand_others(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post, elsewhere = (lemmy.add_post(cast.pics, cast.bob) for _ in range(2))
    comment = lemmy.add_comment(post, cast.bob, content="reported first")
    client = LemmyClientV4(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
    try:
        client.report_comment(comment.id, "known abusive image")
        bot_reports(lemmy, [lemmy.add_comment(elsewhere, cast.bob) for _ in range(1001)])
        assert client.reporters("comment", comment.id) == [cast.bot.id]
        (ask,) = [r for r in lemmy.requests if r.path == "/api/v4/report/list"]
        assert ask.query.get("post_id") == str(post.id), ask.query
    finally:
        client.close()


def test_more_of_the_bots_reports_on_a_post_than_it_reads_is_an_error(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.bob)
    comment = lemmy.add_comment(post, cast.bob, content="reported first")
    client = LemmyClientV4(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
    try:
        client.report_comment(comment.id, "known abusive image")
        bot_reports(lemmy, [lemmy.add_comment(post, cast.bob) for _ in range(1001)])
        with pytest.raises(LemmyError, match="cannot tell whether the bot reported comment"):
            client.reporters("comment", comment.id)
    finally:
        client.close()
