"""A ban a later decision asked for too (the person offended again while banned: its ban
"already done") stays while that decision does, also when `modbot undo` runs in the
moment between the daemon's ban claim finding the ban in place and the daemon recording
its decision, and when the asking ban is one part of a `ban: {uploader: true}` whose
other part was done. And an unban a killed daemon's unsettled ban claim holds back says
what to do. Through `modbot.cli.main` against the fake Lemmy."""

from __future__ import annotations

import json
import re

import pytest
from support.acting import Scenario

from modbot import undo as undo_module
from modbot.actions.executor import Executor
from modbot.audit import AuditFilter, Records
from modbot.cli import main
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient
from modbot.model import PlannedAction, Target
from modbot.store import SENDING, Store

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad, type: post}
    then:
      remove: "known abusive image"
      ban: {scope: site, duration: %s, remove_data: false, reason: "known abusive"%s}
"""


@pytest.fixture
def env(monkeypatch, tmp_path):
    def use(s: Scenario) -> Scenario:
        monkeypatch.chdir(tmp_path)
        for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
            monkeypatch.setenv(name, s.env[name])
        for name in ("MODBOT_RULES", "PICTRS_URL", "PICTRS_API_KEY"):
            monkeypatch.setenv(name, s.env[name])
        return s

    return use


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def ban_requests(lemmy) -> list[tuple[int, bool]]:
    """(person, ban?) of each site ban request sent, in order."""
    path = lemmy.api_path("/api/v3/user/ban")
    return [
        (int((r.json or {})["person_id"]), bool((r.json or {}).get("ban")))
        for r in lemmy.requests
        if r.path == path
    ]


def decision_of(capsys, post) -> dict:
    code, out = run(capsys, "audit", "--json", "--item", f"post:{post.id}")
    assert code == 0, out
    (record,) = [r for r in json.loads(out)["records"] if r.get("undo_of") is None]
    return record


def second_post(s: Scenario, author, uploader=None):
    """A known-bad post by ``author`` showing a new file ``uploader`` (default: the
    author) uploaded."""
    s.list_bad(1)
    upload = s.lemmy.add_upload(uploader or author, s._image(len(s.posts)))
    s.posts.append(None)
    return s.lemmy.add_post(s.lemmy.cast.pics, author, name="again", url=upload.url)


def test_an_undo_right_after_the_daemons_ban_claim_found_the_ban_in_place_leaves_it(
    fake_lemmy, tmp_path, tiny_checkpoint, env, capsys, monkeypatch
):
    """The daemon's ban claim for the person's second post finds the bot's ban in place
    ("already done"); its decision is recorded a moment later. `modbot undo` of the first
    decision right in that moment: before, the second decision was not in the audit yet,
    and the ban was lifted (the second offence unpunished); now the claim itself keeps
    that the second post asked for the ban, and undo leaves it."""
    s = env(Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES % ("permanent", "")))
    (first,) = s.add_bad_posts(1)
    assert run(capsys, "run", "--once")[0] == 0
    spammer = s.lemmy.person(first.creator_id)
    one = decision_of(capsys, first)
    second = second_post(s, spammer)

    said: list[tuple[int, str]] = []
    real = Executor._already

    def undo_in_the_gap(self, name, row, describe):
        if name == "ban" and not said:
            said.append(run(capsys, "undo", str(one["id"]), "--yes"))
        return real(self, name, row, describe)

    monkeypatch.setattr(Executor, "_already", undo_in_the_gap)
    assert run(capsys, "run", "--once")[0] == 0
    ((code, out),) = said
    assert code == 0, out
    assert f"done (#{one['id']}): restore post {first.id}" in out, out
    assert f"post:{second.id}" in out and "asked for this ban too" in out, out
    assert s.lemmy.person(spammer.id).banned, out
    assert ban_requests(s.lemmy) == [(spammer.id, True)], out
    two = decision_of(capsys, second)
    (asked,) = [a for a in two["actions"] if a["action"] == "ban"]
    assert asked["detail"].startswith("already done"), two
    # recorded now: named with its id, and undone together the ban is lifted
    code, out = run(capsys, "undo", str(one["id"]))
    assert f"#{two['id']} (post:{second.id}) asked for this ban too" in out, out
    code, out = run(capsys, "undo", str(one["id"]), str(two["id"]), "--yes")
    assert code == 0, out
    assert not s.lemmy.person(spammer.id).banned, out
    assert ban_requests(s.lemmy) == [(spammer.id, True), (spammer.id, False)], out


UPLOADER = RULES % ("permanent", ", uploader: true")


def test_an_uploader_ban_found_in_place_beside_a_ban_done_holds_the_unban(
    fake_lemmy, tmp_path, tiny_checkpoint, env, capsys
):
    """`ban: {uploader: true}`: the second post's author is banned (done) and its file's
    uploader, banned by the bot already for the first post, recorded "already done": the
    decision's ban is `done` as a whole. Before, undo searched only bans recorded
    `skipped`, missed it, and lifted the uploader's ban with the first decision alone."""
    s = env(Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=UPLOADER))
    (first,) = s.add_bad_posts(1)
    assert run(capsys, "run", "--once")[0] == 0
    spammer = s.lemmy.person(first.creator_id)
    carol = s.lemmy.add_person("carol")
    second = second_post(s, carol, uploader=spammer)
    assert run(capsys, "run", "--once")[0] == 0
    assert s.lemmy.person(carol.id).banned and s.lemmy.person(spammer.id).banned
    one, two = decision_of(capsys, first), decision_of(capsys, second)
    (ban,) = [a for a in two["actions"] if a["action"] == "ban"]
    assert ban["status"] == "done" and "; already done: ban " in ban["detail"], ban

    code, out = run(capsys, "undo", str(one["id"]), "--yes")
    assert code == 0, out
    assert f"#{two['id']} (post:{second.id}) asked for this ban too" in out, out
    assert s.lemmy.person(spammer.id).banned, out
    assert ban_requests(s.lemmy) == [(spammer.id, True), (carol.id, True)], out

    # the second alone: carol's ban is its own; the uploader's is the first decision's
    code, out = run(capsys, "undo", str(two["id"]))
    assert code == 0, out
    assert f"would lift the ban of {carol.name}" in out or "lift the ban of" in out, out
    assert f"the ban is the bot's ban for post:{first.id}" in out, out

    code, out = run(capsys, "undo", str(one["id"]), str(two["id"]), "--yes")
    assert code == 0, out
    assert not s.lemmy.person(spammer.id).banned and not s.lemmy.person(carol.id).banned
    assert sorted(ban_requests(s.lemmy)[2:]) == sorted([(spammer.id, False), (carol.id, False)])


def test_the_kept_marks_find_what_reading_the_whole_audit_finds(
    fake_lemmy, tmp_path, tiny_checkpoint, env, capsys
):
    """The decisions that asked for a ban are found from the marks the ban's claims keep
    (one row read), not by reading every decision since the ban; a ban placed before
    the marks were kept is still read the old way. Both find the same decisions: one
    asking, one asking as the uploader beside a ban done, one undone (not counted), one
    about the same file as the decision undone (not counted)."""
    s = env(Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=UPLOADER))
    (first,) = s.add_bad_posts(1)
    assert run(capsys, "run", "--once")[0] == 0
    spammer = s.lemmy.person(first.creator_id)
    carol = s.lemmy.add_person("carol")
    again = second_post(s, spammer)
    shared = second_post(s, carol, uploader=spammer)
    undone = second_post(s, spammer)
    same = s.lemmy.add_post(s.lemmy.cast.pics, spammer, name="same file", url=first.url)
    assert run(capsys, "run", "--once")[0] == 0
    ids = {p.id: decision_of(capsys, p)["id"] for p in (first, again, shared, undone, same)}
    assert run(capsys, "undo", str(ids[undone.id]), "--yes")[0] == 0

    store = Store(s.state)
    key = f"site:person:{spammer.id}"
    records = Records(s.state)
    try:
        chosen = {r.id: r for r in records.rows(AuditFilter()) if r.id == ids[first.id]}
    finally:
        records.close()
    ban = store.action("ban", key) or {}
    marked = undo_module._asked_too(store, key, ban, chosen)
    cursor = json.loads(store.get_cursor(f"ban:{key}") or "{}")
    assert set(cursor["asked"]) >= {f"post:{again.id}", f"post:{shared.id}"}, cursor
    # as a ban placed before the marks were kept: no marks on it
    store.set_cursor(f"ban:{key}", json.dumps({"expires": None, "item": f"post:{first.id}"}))
    read = undo_module._asked_too(store, key, ban, chosen)
    store.close()
    found = sorted([(ids[again.id], f"post:{again.id}"), (ids[shared.id], f"post:{shared.id}")])
    assert marked.found == read.found == found, (marked, read)
    assert marked.pending == read.pending == []


class Killed(BaseException):
    """The daemon killed while its ban request was on its way."""


def test_an_unban_a_killed_daemons_ban_claim_holds_back_says_what_to_do(
    fake_lemmy, tmp_path, tiny_checkpoint, env, capsys
):
    """The bot's 1 h ban ran out; the daemon claimed a ban anew for the person's second
    post and was killed while sending it: the claim stays `sending` until the daemon
    starts again and settles it. `modbot undo` of the first decision leaves the ban (it
    may be the second's): before, it said "the bot is banning the person anew" and to
    undo a decision that is not recorded yet; now it says the claim may be a stopped
    daemon's, and to start the daemon, then run the undo again."""
    s = env(Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES % ("1h", "")))
    (first,) = s.add_bad_posts(1)
    assert run(capsys, "run", "--once")[0] == 0
    spammer = s.lemmy.person(first.creator_id)
    one = decision_of(capsys, first)
    key = f"site:person:{spammer.id}"
    store = Store(s.state)
    ends = json.loads(store.get_cursor(f"ban:{key}") or "{}")["expires"]
    second = s.lemmy.add_post(s.lemmy.cast.pics, spammer, name="again")
    client = LemmyClient(s.lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
    cast = s.lemmy.cast
    daemon = Executor(
        client,
        store,
        run_id="daemon-killed",
        dry_run=False,
        admin_ids={cast.admin.id, cast.bot.id},
        bot_person_id=cast.bot.id,
        clock=lambda: ends + 1,
    )

    def killed(*args, **kwargs):
        raise Killed

    client.ban_site = killed  # type: ignore[method-assign]
    target = Target(
        kind="post", id=second.id, author_id=spammer.id, community_id=second.community_id
    )
    planned = PlannedAction("ban", "known abusive", {"scope": "site"}, "known abusive image")
    with pytest.raises(Killed):
        daemon.execute(target, [planned])
    client.close()
    assert (store.action("ban", key) or {})["status"] == SENDING
    store.close()

    for args in ([], ["--yes"]):
        code, out = run(capsys, "undo", str(one["id"]), *args)
        assert code == 0, out
        assert f"for post:{second.id}" in out, out
        assert "stopped while sending it" in out and "start the daemon" in out, out
        assert "run this undo again" in out, out
    assert ban_requests(s.lemmy) == [(spammer.id, True)]
    assert s.lemmy.person(spammer.id).banned
    assert not re.search(r"done \(#\d+\): lift", out), out
