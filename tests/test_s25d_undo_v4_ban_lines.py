"""Lemmy 1.0's ban with "remove their content" writes a modlog line of its own on every
post and comment of the person (`remove_or_restore_user_data`: `update_removed_for_creator`
returns every row it set, one already removed too), so the item's own newest line says
whether another moderator's or admin's ban removed it since the bot: `modbot undo` reads
only that on 1.0, and a ban that left their content is no reason to keep the bot's
removal. Through `modbot.cli.main`, against the fake Lemmy 1.0."""

from __future__ import annotations

import pytest
from test_h24_undo_moderator_acted import as_person, run, sent, undo_records
from test_h24b_undo_ban_removed_content import removed  # noqa: F401 (a fixture)

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def test_a_ban_writes_its_removal_on_a_post_removed_already(removed):  # noqa: F811
    s, post, _ = removed
    admin = as_person(s.lemmy, "admin")
    admin.ban_site(post.creator_id, "spammer", expires=None, remove_data=True)
    lines = [a for a in s.lemmy.modlog if a.target_id == post.id]
    assert [a.action for a in lines] == ["remove_post", "remove_post"], lines
    assert lines[-1].mod_id == s.lemmy.cast.admin.id and "bulk_parent" in lines[-1].detail
    admin.unban_site(post.creator_id, "appeal", restore_data=True)
    lines = [a for a in s.lemmy.modlog if a.target_id == post.id]
    assert lines[-1].action == "restore_post" and not s.lemmy.post(post.id).removed


def test_a_ban_that_left_their_content_does_not_keep_the_post(removed, capsys):  # noqa: F811
    s, post, decision = removed
    as_person(s.lemmy, "admin").ban_site(
        post.creator_id, "rude in DMs", expires=None, remove_data=False
    )
    code, out = run(capsys, "undo", str(decision))
    assert code == 0 and f"would restore post {post.id}" in out, out
    assert "banned its author" not in out, out

    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0, out
    assert not s.lemmy.post(post.id).removed, out
    (undo,) = undo_records(capsys, post)
    assert [a["status"] for a in undo["actions"]] == ["done"], undo


def test_a_ban_that_removed_their_content_keeps_the_post_after_an_unban(removed, capsys):  # noqa: F811
    s, post, decision = removed
    admin = as_person(s.lemmy, "admin")
    admin.ban_site(post.creator_id, "spammer", expires=None, remove_data=True)
    admin.unban_site(post.creator_id, "appeal: unbanned, posts stay", restore_data=False)
    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0, out
    assert s.lemmy.post(post.id).removed, out
    assert sent(s.lemmy, "/api/v3/post/remove", "removed", False) == [], out
    assert f"admin removed post {post.id}" in out and "left as it is" in out, out


def test_the_preview_marks_nothing_read(removed, capsys):  # noqa: F811
    # 1.0's GET /post marks the post read for the bot: the preview, a dry run, reads the
    # post's modlog only (the author's bans were read through the post before)
    s, post, decision = removed
    s.lemmy.person(s.lemmy.cast.bot.id).auto_mark_fetched_posts_as_read = True
    s.lemmy.clear_requests()
    code, out = run(capsys, "undo", str(decision))
    assert code == 0 and f"would restore post {post.id}" in out, out
    assert s.lemmy.mutating_requests() == [] and s.lemmy.read_marking_requests() == [], out
