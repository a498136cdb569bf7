"""`modbot undo` lifts only the bot's own ban: never a ban an admin placed after the
bot's ran out or over it, never the bot's later ban for another item (another
decision's). Through `modbot.cli.main` against the fake Lemmy 0.19 and 1.0."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from support.acting import Scenario

from modbot.cli import main
from modbot.store import Store

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      ban: {scope: site, duration: DURATION, remove_data: false, reason: "known abusive"}
"""

pytestmark = pytest.mark.both_lemmys


@pytest.fixture
def bot(fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch):
    def make(duration: str) -> Scenario:
        s = Scenario(
            fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES.replace("DURATION", duration)
        )
        monkeypatch.chdir(tmp_path)
        for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
            monkeypatch.setenv(name, s.env[name])
        for name in ("MODBOT_RULES", "PICTRS_URL", "PICTRS_API_KEY"):
            monkeypatch.setenv(name, s.env[name])
        return s

    return make


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def unbans(lemmy) -> list:
    path = lemmy.api_path("/api/v3/user/ban")
    return [r for r in lemmy.requests if r.path == path and (r.json or {}).get("ban") is False]


def decision_of(capsys, post) -> int:
    code, out = run(capsys, "audit", "--json", "--item", f"post:{post.id}")
    assert code == 0, out
    (record,) = [r for r in json.loads(out)["records"] if r.get("undo_of") is None]
    return record["id"]


def admin_bans(lemmy, person_id: int, expires: datetime | None) -> None:
    """What an admin's ban in lemmy-ui leaves: the person banned until `expires`."""
    person = lemmy.person(person_id)
    person.banned, person.ban_expires = True, expires


def test_a_ban_an_admin_placed_after_the_bots_ran_out_is_never_lifted(bot, capsys):
    s = bot("1s")
    (post,) = s.add_bad_posts(1)
    assert run(capsys, "run", "--once")[0] == 0
    assert s.lemmy.person(post.creator_id).banned
    decision = decision_of(capsys, post)
    # the bot's ban ran out (a 1 s ban ends at the next whole second); an admin bans them
    # for something else
    time.sleep(2.5)
    admin_bans(s.lemmy, post.creator_id, None)

    # (on a loaded machine the upload of the same image may be decided after that ban
    # ran out: the bot bans anew for it, and undo says the ban since is that decision's)
    ran_out = ("the bot's ban ran out", "the bot's ban for this decision ran out")
    code, out = run(capsys, "undo", str(decision))
    assert code == 0 and "would restore post" in out, out
    assert "would lift" not in out and any(said in out for said in ran_out), out
    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0, out
    assert not s.lemmy.post(post.id).removed, out
    assert unbans(s.lemmy) == [], out
    assert s.lemmy.person(post.creator_id).banned
    assert any(said in out for said in ran_out), out


def test_a_ban_an_admin_placed_over_the_bots_is_never_lifted(bot, capsys):
    s = bot("permanent")
    (post,) = s.add_bad_posts(1)
    assert run(capsys, "run", "--once")[0] == 0
    decision = decision_of(capsys, post)
    until = datetime.now(UTC) + timedelta(days=30)
    admin_bans(s.lemmy, post.creator_id, until)  # banned anew, for 30 days, by an admin

    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0, out
    assert not s.lemmy.post(post.id).removed, out
    assert unbans(s.lemmy) == [], out
    assert s.lemmy.person(post.creator_id).banned
    assert "not lifted" in out and "banned again since" in out, out


def test_a_ban_an_admin_lifted_already_is_not_sent_again(bot, capsys):
    s = bot("permanent")
    (post,) = s.add_bad_posts(1)
    assert run(capsys, "run", "--once")[0] == 0
    decision = decision_of(capsys, post)
    s.lemmy.person(post.creator_id).banned = False  # lifted in lemmy-ui

    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0, out
    assert unbans(s.lemmy) == [] and "not banned (lifted already)" in out, out


def test_the_bots_later_ban_for_another_item_is_that_decisions_to_lift(bot, capsys):
    s = bot("1s")
    (first,) = s.add_bad_posts(1)
    assert run(capsys, "run", "--once")[0] == 0
    one = decision_of(capsys, first)
    # the ban ran out (a 1 s ban ends at the next whole second); the same person posts
    # another known-bad image
    time.sleep(2.5)
    spammer = s.lemmy.person(first.creator_id)
    s.list_bad(1)
    upload = s.lemmy.add_upload(spammer, s._image(1))
    s.posts.append(None)
    second = s.lemmy.add_post(s.lemmy.cast.pics, spammer, name="again", url=upload.url)
    s.write_rules(RULES.replace("DURATION", "permanent"))
    assert run(capsys, "run", "--once")[0] == 0
    assert s.lemmy.post(second.id).removed and s.lemmy.person(spammer.id).banned
    two = decision_of(capsys, second)

    code, out = run(capsys, "undo", str(one), "--yes")
    assert code == 0, out
    assert not s.lemmy.post(first.id).removed
    assert unbans(s.lemmy) == [] and s.lemmy.person(spammer.id).banned, out
    assert f"post:{second.id}" in out, out

    code, out = run(capsys, "undo", str(two), "--yes")  # that decision's own ban: lifted
    assert code == 0, out
    assert len(unbans(s.lemmy)) == 1 and not s.lemmy.person(spammer.id).banned, out


def test_an_unban_done_by_an_undo_killed_before_recording_it_is_recorded(bot, capsys):
    s = bot("permanent")
    (post,) = s.add_bad_posts(1)
    assert run(capsys, "run", "--once")[0] == 0
    decision = decision_of(capsys, post)
    state = s.state
    store = Store(state)
    cursor = store.get_cursor(f"ban:site:person:{post.creator_id}")
    store.close()
    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0 and not s.lemmy.person(post.creator_id).banned, out
    # As a `modbot undo` killed after Lemmy lifted the ban and the store said so, but
    # before it wrote its audit record and marked the bot's ban as run out:
    store = Store(state)
    store._exec("DELETE FROM decisions WHERE json_extract(record, '$.undo_of') IS NOT NULL")
    store.set_cursor(f"ban:site:person:{post.creator_id}", cursor)
    store.close()

    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0, out
    assert "stopped before recording it" in out, out
    assert len(unbans(s.lemmy)) == 1
    code, out = run(capsys, "audit", "--json", "--action", "unban")
    (undo,) = json.loads(out)["records"]
    assert undo["undo_of"] == decision
    store = Store(state)
    last = json.loads(store.get_cursor(f"ban:site:person:{post.creator_id}") or "{}")
    store.close()
    assert last["expires"] is not None  # the bot's ban counts as run out: bans anew
