"""The disk holding the state file fills while `modbot run` works: the run ends saying
the disk is full and to free space (not "cannot open the state file ... check that
modbot's user can write it", which sent the admin to look at permissions that were
fine), and the next run, with room again, finishes the job: every flagged post acted on
once and recorded, nothing sent twice.

The full disk is SQLite's own: every connection the command opens may let the state
grow by a few pages only (``PRAGMA max_page_count``), so a write past them fails with
SQLITE_FULL, "database or disk is full", as on a full filesystem."""

from __future__ import annotations

from collections import Counter

from support.bot import sha
from support.cli import bot_environment
from support.policies import BAD, write_rules

from modbot.cli import main
from modbot.store import Store

RULES = """
  - name: bad
    priority: 100
    if: {hash_list: known-bad}
    then:
      remove: "bad"
      report: "bad"
"""


def test_a_disk_that_fills_mid_run_is_said_and_the_next_run_finishes_the_job(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    posts = []
    for i in range(8):
        spammer = lemmy.add_person(f"spammer{i}")
        upload = lemmy.add_upload(spammer, photos[BAD])
        posts.append(lemmy.add_post(cast.pics, spammer, name=f"bad {i}", url=upload.url))
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES)
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "state.sqlite3"
    bot_environment(monkeypatch, lemmy, state, rules, pictrs=True)
    Store(state).close()  # the state as an earlier run left it

    set_up = Store._set_up

    def little_room(self: Store) -> None:
        set_up(self)
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        self._db.execute(f"PRAGMA max_page_count = {pages + 3}")

    monkeypatch.setattr(Store, "_set_up", little_room)
    capsys.readouterr()
    assert main(["run", "--once"]) == 1
    said = capsys.readouterr().err
    assert "full" in said and "free space" in said.lower(), said
    assert "check that modbot's user can write it" not in said, said
    assert str(state) in said, said
    first = Counter(r.path for r in lemmy.mutating_requests())
    assert 0 < first["/api/v3/post/remove"] < len(posts), first  # it stopped part-way

    monkeypatch.setattr(Store, "_set_up", set_up)  # room again
    assert main(["run", "--once"]) == 0, capsys.readouterr().err
    removes = Counter(
        r.json["post_id"] for r in lemmy.mutating_requests() if r.path.endswith("post/remove")
    )
    reports = Counter(
        r.json["post_id"] for r in lemmy.mutating_requests() if r.path.endswith("post/report")
    )
    assert removes == reports == Counter({p.id: 1 for p in posts})
    assert all(lemmy.post(p.id).removed for p in posts)
    store = Store(state)
    try:
        recorded = {
            r["item"]["id"]: {a["action"]: a["status"] for a in r["actions"]}
            for r in store.decisions()
            if r["item"]["kind"] == "post"
        }
        assert store.claims_left() == [] and store.journal_entries() == []
    finally:
        store.close()
    for p in posts:
        assert recorded[p.id] == {"remove": "done", "report": "done"}, recorded[p.id]
