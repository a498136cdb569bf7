"""A post in an unlisted community (Lemmy 1.0) whose comments were all removed: Lemmy
counts no removed comment in the post's `comments`, yet lists them (blanked) to those
who may see the community's comments, and their images stay on the instance. Lemmy 1.0
lists them to an admin only as the community's moderator (`filter_unlisted_or_followed`;
crates/db_views/comment/src/impls.rs), as it does any comment there.

The sweep took the count of 0 for "nothing to read": an admin bot that does not moderate
the community neither read them nor named the post among those whose comments it could
not read; the summary said nothing. It now names the post (the newest comment's time
says it had comments), as it names a post with comments Lemmy counts.
"""

from __future__ import annotations

import pytest
from support.cli import bot_environment
from support.policies import write_rules

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.cli import main

NOT_LISTED = "unlisted community: Lemmy 1.0 lists its comments only to its followers"


@pytest.fixture
def lemmy_1_0():
    with FakeLemmy(version="1.0") as lemmy:
        lemmy.cast = standard_cast(lemmy)
        yield lemmy


def _sweep(lemmy, tiny, tmp_path, monkeypatch, capsys) -> str:
    rules = write_rules(tmp_path, lemmy, tiny)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules)
    assert main(["sweep", "--since", "30d", "--dry-run"]) == 0
    return capsys.readouterr().out


def test_a_post_whose_comments_were_all_removed_is_named_when_they_cannot_be_read(
    lemmy_1_0, tiny, tmp_path, monkeypatch, capsys
):
    lemmy, cast = lemmy_1_0, lemmy_1_0.cast
    hidden = lemmy.add_community("hidden", visibility="unlisted")  # the bot moderates none
    post = lemmy.add_post(hidden, cast.alice, name="in hidden")
    url = lemmy.add_remote_file("x.jpg", b"\xff\xd8 not looked at here")
    reply = lemmy.add_comment(post, cast.bob, content=f"![x]({url})")
    with lemmy.state.lock:  # a moderator removed it: Lemmy counts it no more
        lemmy.state.comments[reply.id].removed = True
    quiet = lemmy.add_post(hidden, cast.alice, name="never had a comment")

    out = _sweep(lemmy, tiny, tmp_path, monkeypatch, capsys)

    assert f"comments of 1 post not read ({NOT_LISTED}" in out, out
    named = out.split(NOT_LISTED, 1)[1]
    assert f"post {post.id}" in named and f"post {quiet.id}" not in named
    # asked as a moderator (the one listing that could show them), not more
    asked = [
        r.query.get("type_")
        for r in lemmy.requests
        if r.path == "/api/v4/comment/list" and r.query.get("post_id") == str(post.id)
    ]
    assert asked and "moderator_view" in asked
    assert not any(
        r.path == "/api/v4/comment/list" and r.query.get("post_id") == str(quiet.id)
        for r in lemmy.requests
    ), "a post that never had a comment costs no request"
