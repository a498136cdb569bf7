"""`modbot undo` of a ban that a decision without a SHA-256 asked for too (the person
posted a dead image link while banned: a `fetch_failed` rule's ban, "already done").
That decision is found by reading the audit since the ban: before, that read was made
once per ban in the plan and again inside the unban's claim, whose transaction holds
the state file's write lock the whole time (a daemon beside it could not record
anything: 30 s, then "database is locked"); now it is read once for the whole undo,
outside any transaction, said before it starts, and the claim reads only what was
recorded since. Through `modbot.cli.main` against the fake Lemmy."""

from __future__ import annotations

import json
import sqlite3

from support.acting import Scenario

from modbot.audit import AuditFilter
from modbot.cli import main
from modbot.store import Store

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad, type: post}
    then:
      remove: "known abusive image"
      ban: {scope: site, duration: permanent, remove_data: false, reason: "known abusive"}
  - name: dead image link
    if: {fetch_failed: true, type: post}
    then:
      remove: "dead image link"
      ban: {scope: site, duration: permanent, remove_data: false, reason: "dead links"}
"""

N = 3000  # decisions recorded since the bans (other items)


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def decision_of(capsys, post) -> dict:
    code, out = run(capsys, "audit", "--json", "--item", f"post:{post.id}")
    assert code == 0, out
    (record,) = [r for r in json.loads(out)["records"] if r.get("undo_of") is None]
    return record


def filler(i: int) -> dict:
    return {
        "run_id": "R-other",
        "decided_at": "2099-01-01T00:00:00Z",
        "dry_run": False,
        "item": {"kind": "post", "id": 100_000 + i, "author_id": 99_999},
        "image": {"url": f"https://lemmy.example/pictrs/image/{i}.jpg", "sha256": f"{i:064x}"},
        "scores": {f"concept{c}": 0.0123 for c in range(40)},
        "labels": ["nsfw"],
        "rule": "nsfw",
        "actions": [{"action": "remove", "status": "done", "detail": f"remove post {i}"}],
        "skipped": None,
    }


def test_an_offence_without_a_sha256_is_read_once_outside_the_claims(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    monkeypatch.setenv("MODBOT_RULES", s.env["MODBOT_RULES"])
    first, second = s.add_bad_posts(2)
    assert run(capsys, "run", "--once")[0] == 0
    one, two = (s.lemmy.person(p.creator_id) for p in (first, second))
    # each offends again while banned: a post whose image link is dead (no file, no hash)
    dead = [
        s.lemmy.add_post(s.lemmy.cast.pics, who, name="dead", url=f"http://127.0.0.1:9/{i}.jpg")
        for i, who in enumerate((one, two))
    ]
    assert run(capsys, "run", "--once")[0] == 0
    ids = {p.id: decision_of(capsys, p) for p in (first, second, *dead)}
    for post in dead:
        record = ids[post.id]
        assert not (record.get("image") or {}).get("sha256"), record
        (ban,) = [a for a in record["actions"] if a["action"] == "ban"]
        assert ban["detail"].startswith("already done"), record
    store = Store(s.state)
    with store.transaction():
        for i in range(N):
            store.add_decision(filler(i))
    store.close()

    read: list[int] = []  # records read from the audit
    blocked: list[str] = []  # a daemon's write refused meanwhile
    real = AuditFilter.matches

    def reading(self, record):
        read.append(1)
        if len(read) % 1000 == 1:
            other = sqlite3.connect(s.state, timeout=0)
            try:
                other.execute("INSERT OR REPLACE INTO cursors VALUES ('daemon', 'x')")
                other.commit()
            except sqlite3.OperationalError as exc:
                blocked.append(str(exc))
            finally:
                other.close()
        return real(self, record)

    monkeypatch.setattr(AuditFilter, "matches", reading)
    # the first decision alone: its ban stays for the dead link's; the second decision
    # with its dead link's: lifted
    chosen = [str(ids[first.id]["id"]), str(ids[second.id]["id"]), str(ids[dead[1].id]["id"])]
    asked = f"#{ids[dead[0].id]['id']} (post:{dead[0].id}) asked for this ban too"
    for args in ([], ["--yes"]):
        read.clear()
        code, out = run(capsys, "undo", *chosen, *args)
        assert code == 0, out
        assert asked in out, out
        # the daemon's writes go on meanwhile: not read inside the unban's claim
        assert blocked == [], (args, blocked)
        # once: not once per ban, and not again in the unban's claim
        assert len(read) < N + 50, (args, len(read))
        # and said before it starts (a large audit takes a while)
        assert out.count("reading the decisions recorded since") == 1, out
    assert s.lemmy.person(one.id).banned, out
    assert not s.lemmy.person(two.id).banned, out
    assert f"done (#{ids[second.id]['id']}, #{ids[dead[1].id]['id']}): lift the ban" in out, out
