"""`modbot audit` (what the bot did, filtered) and `modbot undo` (restore removed items,
lift bans), through `python -m modbot` against the fake Lemmy: what the admin reads,
what Lemmy is asked, what the state file records, across kill -9."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx
import jsonschema
import pytest
from support.acting import Scenario
from support.acting import fake_lemmy as started_lemmy
from support.bot import Bot, wait_for
from test_h24_undo_moderator_acted import as_person

from modbot.audit import AuditFilter, Row, render_table
from modbot.statelock import StateLock
from modbot.store import Store
from modbot.undo import plan_undo

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      purge_image: true
      ban: {scope: site, duration: permanent, remove_data: false, reason: "known abusive"}
      report: "known abusive image"
"""


@pytest.fixture
def scenario(tmp_path, tiny_checkpoint):
    lemmy = started_lemmy()
    try:
        yield Scenario(lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    finally:
        lemmy.stop()


def ok(done) -> str:
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def audit(s: Scenario, *args: str) -> dict:
    return json.loads(ok(s.run("audit", "--json", *args)))


def restores(s: Scenario) -> list:
    return [
        r
        for r in s.lemmy.requests
        if r.path == "/api/v3/post/remove" and (r.json or {}).get("removed") is False
    ]


def unbans(s: Scenario) -> list:
    return [
        r
        for r in s.lemmy.requests
        if r.path == "/api/v3/user/ban" and (r.json or {}).get("ban") is False
    ]


@pytest.mark.slow
def test_audit_filters_then_undo_previews_restores_and_never_repeats(scenario):
    s = scenario
    first, second = s.add_bad_posts(2)
    ok(s.run("run", "--once"))
    assert s.lemmy.post(first.id).removed and s.lemmy.person(first.creator_id).banned

    # --- audit: the table, then each filter
    table = ok(s.run("audit"))
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["ID", "TIME", "(UTC)", "MODE"]
    assert len(lines) == 3, table  # the two decisions, no unmatched image
    assert f"post:{first.id}" in table and "known abusive image" in table
    assert "remove:done" in table and "ban:done" in table and "purge_image:done" in table
    everything = audit(s)["records"]
    assert sorted(r["item"]["id"] for r in everything) == [first.id, second.id]
    ids = {r["item"]["id"]: r["id"] for r in everything}
    name = f"spammer0@{httpx.URL(s.lemmy.url).host}"
    assert [r["id"] for r in audit(s, "--person", name)["records"]] == [ids[first.id]]
    assert [r["id"] for r in audit(s, "--person", "spammer1")["records"]] == [ids[second.id]]
    assert [r["id"] for r in audit(s, "--item", f"{s.lemmy.url}/post/{second.id}")["records"]] == [
        ids[second.id]
    ]
    assert len(audit(s, "--rule", "known abusive image", "--action", "ban")["records"]) == 2
    unknown = s.run("audit", "--json", "--rule", "another rule")
    assert unknown.returncode == 1 and "no rule named 'another rule'" in unknown.stderr
    assert audit(s, "--action", "ban", "--status", "failed")["records"] == []
    assert len(audit(s, "--since", "1h")["records"]) == 2
    assert audit(s, "--until", "1h")["records"] == []
    assert audit(s, "--since", "2999-01-01")["records"] == []
    bad = s.run("audit", "--since", "last tuesday")
    assert bad.returncode == 2 and "neither an age" in bad.stderr

    # --- undo without --yes: says what it would do, changes nothing
    before = len(s.lemmy.mutating_requests())
    preview = ok(s.run("undo", str(ids[first.id])))
    assert f"would restore post {first.id}" in preview
    assert "would lift the ban of" in preview and "from the site" in preview
    assert "cannot undo" in preview and "purge" in preview and "for good" in preview
    assert "a report stays" in preview
    assert "nothing was changed: run the same command with --yes" in preview
    assert len(s.lemmy.mutating_requests()) == before
    assert s.lemmy.post(first.id).removed

    # --- undo --yes: restored, unbanned, recorded; the other decision untouched
    done = ok(s.run("undo", str(ids[first.id]), "--yes", "--reason", "false positive"))
    assert f"restore post {first.id}" in done and "recorded in the audit" in done
    assert not s.lemmy.post(first.id).removed
    assert not s.lemmy.person(first.creator_id).banned
    assert s.lemmy.post(second.id).removed and s.lemmy.person(second.creator_id).banned
    assert [r.json["reason"] for r in restores(s)] == ["false positive"]
    assert len(unbans(s)) == 1 and unbans(s)[0].json["person_id"] == first.creator_id
    assert [m.action for m in s.lemmy.modlog][-2:] == ["restore_post", "unban"]
    (undo,) = [r for r in audit(s, "--item", f"post:{first.id}")["records"] if r.get("undo_of")]
    assert undo["undo_of"] == ids[first.id] and undo["rule"] == "known abusive image"
    assert {a["action"]: a["status"] for a in undo["actions"]} == {
        "restore": "done",
        "unban": "done",
    }
    assert f"undo of #{ids[first.id]}:" in ok(s.run("audit", "--action", "restore"))

    # --- again: nothing sent twice; the preview says it is undone already
    assert "already undone" in ok(s.run("undo", str(ids[first.id])))
    again = ok(s.run("undo", str(ids[first.id]), "--yes"))
    assert "already done" in again
    assert len(restores(s)) == 1 and len(unbans(s)) == 1
    assert len([r for r in audit(s)["records"] if r.get("undo_of")]) == 1

    # --- the bot does not remove the restored post again
    s.lemmy.edit_post(first.id, body="edited")
    ok(s.run("run", "--once"))
    assert not s.lemmy.post(first.id).removed
    assert len([r for r in s.lemmy.requests if r.path == "/api/v3/post/remove"]) == 3

    # --- by rule: the rest of the rule's work (the second post), in one command
    ok(s.run("undo", "--rule", "known abusive image", "--yes"))
    assert not s.lemmy.post(second.id).removed
    assert not s.lemmy.person(second.creator_id).banned
    assert len(restores(s)) == 2 and len(unbans(s)) == 2

    # --- what cannot be chosen
    missing = s.run("undo", "999")
    assert missing.returncode == 1 and "no decision 999" in missing.stderr
    nothing = s.run("undo")
    assert nothing.returncode == 2 and "choose decisions" in nothing.stderr


def test_undo_killed_while_sending_is_finished_once_after_asking_lemmy(scenario):
    s = scenario
    (post,) = s.add_bad_posts(1)
    ok(s.run("run", "--once"))
    (decision,) = audit(s, "--item", f"post:{post.id}")["records"]
    s.lemmy.hold("/api/v3/post/remove")
    child = s.start("undo", str(decision["id"]), "--yes")
    wait_for(lambda: len(restores(s)) == 1, what="the restore on its way")
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    s.lemmy.release("/api/v3/post/remove")
    wait_for(lambda: not s.lemmy.post(post.id).removed, what="Lemmy done")
    assert audit(s, "--action", "restore")["records"] == []  # killed before recording

    with StateLock(s.state):  # the daemon acting on the same state does not block undo
        again = ok(s.run("undo", str(decision["id"]), "--yes"))
    assert "Lemmy shows it done" in again
    assert len(restores(s)) == 1, "asked Lemmy, did not send it again"
    assert len(unbans(s)) == 1 and not s.lemmy.person(post.creator_id).banned
    (undo,) = audit(s, "--action", "restore")["records"]
    assert {a["action"]: a["status"] for a in undo["actions"]} == {
        "restore": "done",
        "unban": "done",
    }
    store = Store(s.state)
    try:
        assert store.claims_left() == []
    finally:
        store.close()


def test_undo_of_a_ban_that_removed_content_restores_it_only_when_asked(scenario):
    s = scenario
    s.write_rules("""
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      ban: {scope: community, duration: permanent, remove_data: true, reason: "known abusive"}
""")
    (post,) = s.add_bad_posts(1)
    spammer = s.lemmy.person(post.creator_id)
    other = s.lemmy.add_post(s.lemmy.cast.pics, spammer, name="another post of theirs")
    ok(s.run("run", "--once"))
    assert s.lemmy.post(other.id).removed  # the ban removed their content
    (decision,) = audit(s, "--item", f"post:{post.id}")["records"]

    preview = ok(s.run("undo", str(decision["id"])))
    assert "from community" in preview and "stay removed (--restore-content)" in preview
    ok(s.run("undo", str(decision["id"]), "--yes"))
    (request,) = [r for r in s.lemmy.requests if r.path == "/api/v3/community/ban_user"][1:]
    assert request.json["ban"] is False and not request.json.get("remove_data")
    assert s.lemmy.post(other.id).removed, "not restored unless asked"
    assert not s.lemmy.community_bans

    # the bot bans anew for another offence (an undone ban counts as run out)
    s.list_bad(1)
    upload = s.lemmy.add_upload(spammer, s._image(len(s.posts)))
    offence = s.lemmy.add_post(s.lemmy.cast.pics, spammer, name="new offence", url=upload.url)
    ok(s.run("run", "--once"))
    assert (s.lemmy.cast.pics.id, spammer.id) in s.lemmy.community_bans
    (latest,) = audit(s, "--item", f"post:{offence.id}")["records"]
    # --restore-content on 0.19: refused, nothing sent (its unban with remove_data removes
    # all their content: test_s25d_undo_restore_content.py; 1.0 restores it there)
    refused = s.run("undo", str(latest["id"]), "--yes", "--restore-content")
    assert refused.returncode == 2 and "Lemmy 0.19 cannot restore" in refused.stderr
    last = [r for r in s.lemmy.requests if r.path == "/api/v3/community/ban_user"][-1]
    assert last.json["ban"] is True
    assert (s.lemmy.cast.pics.id, spammer.id) in s.lemmy.community_bans


@pytest.mark.both_lemmys
@pytest.mark.parametrize("scope", ["site", "community"])
def test_fake_lemmy_unban_with_remove_data_removes_on_0_19_restores_on_1_0(fake_lemmy, scope):
    """An unban with remove_data: Lemmy 0.19 (0.19.6 to 0.19.20) removes every post and
    comment of the person, restored ones too: `ban_person.rs` and `community/ban.rs` call
    `remove_user_data` / `remove_user_data_in_community`, which set removed true whatever
    `ban` is (the restore of lemmy#4845 was reverted before 0.19.6). 1.0's
    `remove_or_restore_data` with ban false restores them."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="p")
    comment = lemmy.add_comment(post, cast.alice, content="c")
    admin = as_person(lemmy, "admin")
    if scope == "site":
        admin.ban_site(cast.alice.id, "spam", expires=None, remove_data=True)
    else:
        admin.ban_community(cast.alice.id, cast.pics.id, "spam", expires=None, remove_data=True)
    assert lemmy.post(post.id).removed and lemmy.comment(comment.id).removed
    admin.restore_comment(comment.id, "this one was fine")
    assert not lemmy.comment(comment.id).removed

    if scope == "site":
        admin.unban_site(cast.alice.id, "appeal", restore_data=True)
        assert not lemmy.person(cast.alice.id).banned
    else:
        admin.unban_community(cast.alice.id, cast.pics.id, "appeal", restore_data=True)
        assert (cast.pics.id, cast.alice.id) not in lemmy.community_bans
    removed = lemmy.api_version == "v3"  # 0.19 removes, 1.0 restores
    assert lemmy.post(post.id).removed is removed
    assert lemmy.comment(comment.id).removed is removed
    admin.close()


def test_fake_lemmy_restore_and_unban_answer_as_lemmy_js_client_says(fake_lemmy):
    """The undo's requests (the forms pythorhead sends: RemovePost/RemoveComment with
    removed false, BanPerson/BanFromCommunity with ban false) answer in the 0.19 shapes."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="p")
    comment = lemmy.add_comment(post, cast.alice, content="c")
    lemmy.post(post.id).removed = lemmy.comment(comment.id).removed = True
    http = httpx.Client(base_url=f"{lemmy.url}/api/v3")
    token = http.post("/user/login", json={"username_or_email": "admin", "password": "pw"}).json()[
        "jwt"
    ]
    http.headers["Authorization"] = f"Bearer {token}"
    schemas = Path(__file__).parent / "schemas"
    for schema, path, form in (
        ("PostResponse", "/post/remove", {"post_id": post.id, "removed": False, "reason": "u"}),
        ("CommentResponse", "/comment/remove", {"comment_id": comment.id, "removed": False}),
        ("BanPersonResponse", "/user/ban", {"person_id": cast.bob.id, "ban": False}),
        (
            "BanFromCommunityResponse",
            "/community/ban_user",
            {"community_id": cast.pics.id, "person_id": cast.bob.id, "ban": False},
        ),
    ):
        answer = http.post(path, json=form)
        assert answer.status_code == 200, answer.text
        validator = jsonschema.Draft7Validator(json.loads((schemas / f"{schema}.json").read_text()))
        assert list(validator.iter_errors(answer.json())) == [], schema
    assert not lemmy.post(post.id).removed and not lemmy.comment(comment.id).removed
    assert [m.action for m in lemmy.modlog] == [
        "restore_post", "restore_comment", "unban", "community_unban",
    ]  # fmt: skip
    http.close()


def test_undo_plans_the_uploaders_ban_and_a_stored_files_removals(tmp_path):
    # What the executor records for `ban: {uploader: true}` (two bans in one detail) and
    # for a `type: file` decision (its removal went to each post and comment showing it).
    store = Store(tmp_path / "state.sqlite3")
    try:
        store.remember_uploader("a.jpeg", 7, "https://x.example/u/alice", None)
        post = {
            "run_id": "r1",
            "dry_run": False,
            "item": {"kind": "post", "id": 3, "author_id": 9, "author": "carol"},
            "rule": "bad image",
            "actions": [
                {
                    "action": "ban",
                    "status": "done",
                    "detail": "ban https://x.example/u/carol from the site permanently; "
                    "ban https://x.example/u/alice from the site permanently "
                    "(as uploader of a.jpeg)",
                }
            ],
        }
        stored = {
            "run_id": "r1",
            "dry_run": False,
            "item": {"kind": "file", "id": "ab" * 32, "author_id": 7},
            "rule": "bad file",
            "actions": [
                {
                    "action": "remove",
                    "status": "done",
                    "detail": "remove post 12; remove comment 5",
                },
                {
                    "action": "delete_image",
                    "status": "done",
                    "detail": "delete alias x.jpg from pict-rs (this alias only)",
                },
            ],
        }
        plan = plan_undo(store, [Row(1, post), Row(2, stored)])
    finally:
        store.close()
    assert [(s.kind, s.target, s.decisions) for s in plan.steps] == [
        ("unban", "site:person:9", [1]),
        ("unban", "site:person:7", [1]),
        ("restore", "post:12", [2]),
        ("restore", "comment:5", [2]),
    ]
    assert plan.not_undone == [
        (
            2,
            "delete alias x.jpg from pict-rs (this alias only)",
            "a deleted alias is gone for good: pict-rs keeps no copy of it",
        )
    ]


def _acted(item_id: int, author: str, author_id: int, **facts) -> dict:
    return {
        "run_id": "r1",
        "decided_at": "2026-01-01T00:00:00Z",
        "dry_run": False,
        "item": {
            "kind": "post",
            "id": item_id,
            "url": f"https://my.example/post/{item_id}",
            "author": author,
            "author_id": author_id,
            **facts,
        },
        "image": {"url": f"https://x.example/{item_id}.png", "location": "post_url"},
        "rule": "csam",
        "actions": [{"action": "remove", "status": "done", "detail": f"remove post {item_id}"}],
    }


def test_audit_item_and_person_filters_name_the_instances_own(tmp_path):
    # As the rules name people: name@host for /u/, /users/ and /accounts/ actors, a bare
    # name only for a local one; an item URL of another instance is not our post.
    records = {
        "alice": _acted(999, "https://my.example/u/alice", 5),
        "carol": _acted(12, "https://mastodon.example/users/carol", 6),
        "evil alice": _acted(13, "https://evil.example/u/alice", 7, author_local=False),
    }

    def chosen(**which) -> list[str]:
        return [k for k, r in records.items() if AuditFilter(**which).matches(r)]

    assert chosen(item="https://lemmy.world/post/999") == []
    assert chosen(item="lemmy.world/post/999") == []
    for ours in ("https://my.example/post/999", "my.example/post/999/", "post:999", "post/999"):
        assert chosen(item=ours) == ["alice"], ours
    assert chosen(person="carol@mastodon.example") == ["carol"]
    assert chosen(person="https://mastodon.example/users/carol") == ["carol"]
    assert chosen(person="alice") == ["alice"]
    assert chosen(person="@Alice@My.Example") == ["alice"]
    assert chosen(person="alice@evil.example") == ["evil alice"]
    assert chosen(person="7") == ["evil alice"]
    table = render_table([Row(2, records["carol"])])
    assert "carol@mastodon.example" in table.splitlines()[1]


def test_undo_of_another_instances_post_url_selects_nothing(fake_lemmy, tmp_path):
    # `modbot undo --item URL --yes` restores what the URL names: a remote post that has
    # the id of one of ours is not ours to restore.
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="removed by the bot")
    post.removed = True
    store = Store(tmp_path / "state.sqlite3")
    try:
        record = _acted(post.id, f"{lemmy.url}/u/alice", cast.alice.id)
        record["item"]["url"] = f"{lemmy.url}/post/{post.id}"
        store.add_decision(record)
    finally:
        store.close()
    rules = tmp_path / "rules.yaml"  # Lemmy's settings for undo: no 2 requests a second
    rules.write_text("lemmy: {requests_per_minute: 60000}\nrules: []\n")
    bot = Bot(lemmy, tmp_path, rules)
    remote = bot("undo", "--item", f"https://lemmy.world/post/{post.id}", "--yes")
    assert "nothing to undo" in remote.stdout
    assert lemmy.mutating_requests() == [] and lemmy.post(post.id).removed
    ours = bot("undo", "--item", f"{lemmy.url}/post/{post.id}")
    assert f"would restore post {post.id} (#1)" in ours.stdout


def test_audit_help_lists_every_action_kind_a_record_holds():
    import re

    from modbot.actions.kinds import ACTIONS
    from modbot.cli import build_parser
    from modbot.undo import UNDO_KINDS

    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    text = sub.choices["audit"].format_help()
    listed = text[text.index("an action (") : text.index("and/or its outcome")]
    for kind in [*ACTIONS, *UNDO_KINDS]:
        assert re.search(rf"\b{kind}\b", listed), kind
