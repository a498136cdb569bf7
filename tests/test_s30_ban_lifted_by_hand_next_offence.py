"""A ban modbot placed, lifted by an admin in lemmy-ui (no `modbot undo`): the person's
next offence, another item a rule bans for, is banned anew. Before, the bot's record of
its own ban counted it as in force: the next known-bad post found it "already done"
and the person stayed unbanned. The same item is never banned twice (the admin's
lifting stands for it)."""

from __future__ import annotations

import json

import pytest
from test_s30b_undo_ban_lifted_by_hand import as_person, bot, offends_again  # noqa: F401

from modbot.cli import main

pytestmark = pytest.mark.both_lemmys


def ban_of(capsys, post_id: int) -> dict:
    capsys.readouterr()
    assert main(["audit", "--json", "--item", f"post:{post_id}"]) == 0
    out, _ = capsys.readouterr()
    (record,) = json.loads(out)["records"]
    return {a["action"]: a for a in record["actions"]}["ban"]


def test_a_site_ban_lifted_by_hand_is_placed_again_for_a_new_offence(bot, capsys):  # noqa: F811
    s, post, _ = bot("site")
    spammer = s.lemmy.person(post.creator_id)
    as_person(s.lemmy, "admin").unban_site(spammer.id, "my mistake", restore_data=False)
    assert not s.lemmy.person(spammer.id).banned
    second = offends_again(s, spammer)
    assert main(["run", "--once"]) == 0
    assert s.lemmy.post(second.id).removed
    assert s.lemmy.person(spammer.id).banned, "banned anew, not taken as 'already done'"
    ban = ban_of(capsys, second.id)
    assert ban["status"] == "done" and "lifted" in ban["detail"], ban


def test_a_community_ban_lifted_by_hand_is_placed_again_for_a_new_offence(bot, capsys):  # noqa: F811
    s, post, _ = bot("community")
    spammer = s.lemmy.person(post.creator_id)
    community = s.lemmy.post(post.id).community_id
    as_person(s.lemmy, "admin").unban_community(
        spammer.id, community, "my mistake", restore_data=False
    )
    second = offends_again(s, spammer)
    assert main(["run", "--once"]) == 0
    ban = ban_of(capsys, second.id)
    assert ban["status"] == "done" and "lifted" in ban["detail"], ban


def test_a_ban_in_place_is_read_once_for_the_persons_later_items(bot, capsys):  # noqa: F811
    s, post, _ = bot("site")
    spammer = s.lemmy.person(post.creator_id)
    later = [offends_again(s, spammer) for _ in range(3)]
    s.lemmy.clear_requests()
    assert main(["run", "--once"]) == 0
    assert all(s.lemmy.post(p.id).removed for p in later)
    reads = [
        r
        for r in s.lemmy.requests
        if r.path in ("/api/v3/user", "/api/v4/person")
        and r.query.get("person_id") == str(spammer.id)
    ]
    assert len(reads) == 1, [r.path for r in reads]
    assert [ban_of(capsys, p.id)["status"] for p in later] == ["skipped"] * 3


def test_an_item_decided_while_the_ban_stood_is_no_new_offence_after_the_lifting(
    bot,  # noqa: F811
    capsys,
):
    """Post B is decided while A's ban stands ("already done"), its removal fails (502),
    so B is looked at again next cycle; meanwhile an admin lifts the ban: B is no
    offence after the lifting, the person stays unbanned."""
    s, post, _ = bot("site")
    spammer = s.lemmy.person(post.creator_id)
    second = offends_again(s, spammer)
    s.lemmy.fail_next(s.lemmy.api_path("/api/v3/post/remove"), times=6, status=502)
    assert main(["run", "--once"]) == 0
    assert not s.lemmy.post(second.id).removed
    as_person(s.lemmy, "admin").unban_site(spammer.id, "my mistake", restore_data=False)
    assert main(["run", "--once"]) == 0
    assert s.lemmy.post(second.id).removed, "looked at again: the removal went"
    assert not s.lemmy.person(spammer.id).banned, "the admin's lifting stands"


def test_a_dry_run_report_plans_no_ban_for_recorded_items_after_a_lifting(bot, capsys):  # noqa: F811
    s, post, _ = bot("site")
    spammer = s.lemmy.person(post.creator_id)
    offends_again(s, spammer)
    assert main(["run", "--once"]) == 0  # decided while the ban stood
    as_person(s.lemmy, "admin").unban_site(spammer.id, "my mistake", restore_data=False)
    s.lemmy.clear_requests()
    capsys.readouterr()
    assert main(["report", "--out", str(s.directory / "report.json")]) == 0
    assert not [r for r in s.lemmy.requests if r.query.get("person_id") == str(spammer.id)]
