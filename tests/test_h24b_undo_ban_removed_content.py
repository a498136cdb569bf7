"""`modbot undo` of the bot's removal leaves the post removed when another moderator or
admin banned its author since, with "remove their content": on Lemmy 0.19 that ban writes
one modlog line (the ban), none per post, and says nothing of remove_data, so the post's
own modlog shows the bot's removal newest. The ban after the bot's removal is their own
decision about everything of that person: left as it is, said and recorded, nothing
sent. On 1.0 the ban writes its removal on each post and comment of the person, the
post's newest line (`test_s25d_undo_v4_ban_lines.py`). Through `modbot.cli.main`, against
the fake Lemmy 0.19 and 1.0."""

from __future__ import annotations

import json

import pytest
from support.acting import Scenario
from test_h24_undo_moderator_acted import as_person, run, sent, undo_records

from modbot.cli import main

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
"""

pytestmark = pytest.mark.both_lemmys


def kept_by(lemmy, post, who: str, where: str) -> str:
    """What undo says keeps the post: on 0.19 the ban of its author (``where``), on 1.0
    the ban's own removal line on the post."""
    if lemmy.api_version == "v4":
        return f"{who} removed post {post.id} again"
    return f"banned its author (person {post.creator_id}) {where}"


@pytest.fixture
def removed(fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys):
    """The bot removed a known-bad post (no ban); returns (scenario, post, decision id)."""
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    for name in ("MODBOT_RULES", "PICTRS_URL", "PICTRS_API_KEY"):
        monkeypatch.setenv(name, s.env[name])
    (post,) = s.add_bad_posts(1)
    assert main(["run", "--once"]) == 0
    assert fake_lemmy.post(post.id).removed and not fake_lemmy.person(post.creator_id).banned
    capsys.readouterr()
    assert main(["audit", "--json", "--item", f"post:{post.id}"]) == 0
    (record,) = json.loads(capsys.readouterr().out)["records"]
    return s, post, record["id"]


def test_a_site_ban_removing_their_content_after_the_bot_keeps_the_post(removed, capsys):
    s, post, decision = removed
    as_person(s.lemmy, "admin").ban_site(
        post.creator_id, "spammer, all of it goes", expires=None, remove_data=True
    )

    s.lemmy.clear_requests()
    code, out = run(capsys, "undo", str(decision))  # the preview says so too
    assert code == 0, out
    assert f"would restore post {post.id}" not in out, out
    said = kept_by(s.lemmy, post, "admin", "from the site")
    assert said in out and "left as it is" in out, out
    assert s.lemmy.mutating_requests() == [], out

    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0, out
    assert s.lemmy.post(post.id).removed, out
    assert sent(s.lemmy, "/api/v3/post/remove", "removed", False) == [], out
    assert "admin" in out and said in out and "left as it is" in out, out
    (undo,) = undo_records(capsys, post)
    (restore,) = undo["actions"]
    assert restore["status"] == "skipped" and said in restore["detail"]

    code, out = run(capsys, "undo", str(decision), "--yes")  # again: recorded once
    assert code == 0 and "left as it is" in out, out
    assert sent(s.lemmy, "/api/v3/post/remove", "removed", False) == []
    assert len(undo_records(capsys, post)) == 1


def test_a_community_ban_removing_their_content_keeps_the_post(removed, capsys):
    s, post, decision = removed
    as_person(s.lemmy, "mod").ban_community(
        post.creator_id, post.community_id, "not here", expires=None, remove_data=True
    )
    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0, out
    assert s.lemmy.post(post.id).removed, out
    assert sent(s.lemmy, "/api/v3/post/remove", "removed", False) == [], out
    said = kept_by(s.lemmy, post, "mod", f"in community {post.community_id}")
    assert said in out and "left as it is" in out, out


def test_a_ban_lifted_since_without_their_content_keeps_the_post(removed, capsys):
    # An unban restores nothing (0.19 has no restore; 1.0's only with
    # remove_or_restore_data): the ban's removal of their content stands. On 0.19 the
    # author's newest ban line is the unban: every line since the bot's removal is read.
    s, post, decision = removed
    admin = as_person(s.lemmy, "admin")
    admin.ban_site(post.creator_id, "looking", expires=None, remove_data=True)
    admin.unban_site(post.creator_id, "my mistake", restore_data=False)
    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0, out
    assert s.lemmy.post(post.id).removed, out
    assert sent(s.lemmy, "/api/v3/post/remove", "removed", False) == [], out
    assert kept_by(s.lemmy, post, "admin", "from the site") in out, out
    assert "left as it is" in out, out


def test_an_admins_ban_before_the_bots_own_ban_keeps_the_post(removed, capsys):
    # The bot's account banned the author since (for another item): on 0.19 the
    # author's newest ban line is the bot's, the admin's ban that removed the post is
    # the one before it.
    s, post, decision = removed
    as_person(s.lemmy, "admin").ban_site(post.creator_id, "spam", expires=None, remove_data=True)
    as_person(s.lemmy, "modbot").ban_site(
        post.creator_id, "known abusive", expires=None, remove_data=False
    )
    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0, out
    assert s.lemmy.post(post.id).removed, out
    assert sent(s.lemmy, "/api/v3/post/remove", "removed", False) == [], out
    assert kept_by(s.lemmy, post, "admin", "from the site") in out, out
    assert "left as it is" in out, out


def test_an_admins_ban_hidden_by_the_bots_own_ban_with_their_content_keeps_the_post(
    removed, capsys
):
    # The admin's ban removed their content, was lifted without restoring it; the bot's
    # account then banned them with their content: on 1.0 the post's newest line is the
    # bot's (its ban's, bulk), the admin's removal is the one before it.
    s, post, decision = removed
    admin = as_person(s.lemmy, "admin")
    admin.ban_site(post.creator_id, "spam", expires=None, remove_data=True)
    admin.unban_site(post.creator_id, "appeal", restore_data=False)
    as_person(s.lemmy, "modbot").ban_site(
        post.creator_id, "known abusive", expires=None, remove_data=True
    )
    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0, out
    assert s.lemmy.post(post.id).removed, out
    assert sent(s.lemmy, "/api/v3/post/remove", "removed", False) == [], out
    assert kept_by(s.lemmy, post, "admin", "from the site") in out, out
    assert "left as it is" in out, out
