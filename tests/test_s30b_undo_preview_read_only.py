"""`modbot undo` without --yes (the preview) changes nothing: not Lemmy, and not the
state file. Before, it opened the state for writing as the daemon does: a killed
daemon's -wal was folded into the file, the file's mode was set to owner-only, and the
login the preview made was saved in it. Now the preview reads the state on a read-only
connection: the file's bytes and mode and its -wal are as they were, no login token is
written; --yes still opens it for writing. Through `modbot.cli.main` against the fake
Lemmy 0.19 and 1.0."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from support.acting import Scenario

from modbot.cli import main
from modbot.store import Store

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad, type: post}
    then:
      remove: "known abusive image"
      ban: {scope: site, duration: permanent, remove_data: false, reason: "known abusive"}
"""

pytestmark = pytest.mark.both_lemmys

# What a daemon killed with -9 leaves: a write in the -wal, not folded into the file.
KILLED = (
    "import os, sys; from modbot.store import Store; "
    "s = Store(sys.argv[1]); s.set_cursor('killed-daemon', 'in the wal'); os._exit(0)"
)


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def files(state: Path) -> dict[str, tuple[str, int]]:
    """The state file and its -wal: (SHA-256 of the bytes, mode) each."""
    found = {}
    for path in (state, state.with_name(state.name + "-wal")):
        if path.exists():
            found[path.name] = (
                hashlib.sha256(path.read_bytes()).hexdigest(),
                stat.S_IMODE(path.stat().st_mode),
            )
    return found


@pytest.fixture
def acted(fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys):
    """The bot removed a known-bad post and banned its author, then was killed (its -wal
    left); the state's mode loosened, its saved login gone. (scenario, post, decision,
    state path)."""
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    monkeypatch.setenv("MODBOT_RULES", s.env["MODBOT_RULES"])
    (post,) = s.add_bad_posts(1)
    assert main(["run", "--once"]) == 0
    assert fake_lemmy.post(post.id).removed and fake_lemmy.person(post.creator_id).banned
    capsys.readouterr()
    code, out = run(capsys, "audit", "--json", "--item", f"post:{post.id}")
    assert code == 0, out
    (record,) = json.loads(out)["records"]
    state = Path(s.state)
    store = Store(state)
    store._exec("DELETE FROM cursors WHERE name LIKE 'session:%'")  # the preview logs in
    store.close()
    subprocess.run([sys.executable, "-c", KILLED, str(state)], check=True)
    assert state.with_name(state.name + "-wal").stat().st_size > 0
    os.chmod(state, 0o640)  # as a backup tool or an admin's chmod may leave it
    return s, post, record["id"], state


def test_the_preview_leaves_the_state_file_and_lemmy_as_they_were(acted, capsys):
    s, post, decision, state = acted
    before = files(state)
    s.lemmy.clear_requests()

    code, out = run(capsys, "undo", str(decision))
    assert code == 0, out
    assert f"would restore post {post.id}" in out and "would lift the ban" in out, out
    assert "nothing was changed" in out, out
    assert s.lemmy.api_path("/api/v3/user/login") in {r.path for r in s.lemmy.requests}
    assert s.lemmy.mutating_requests() == [], out
    assert files(state) == before, "the state file, its mode and its -wal are untouched"

    # what --yes does is unchanged: it opens the state for writing, and undoes
    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0, out
    assert not s.lemmy.post(post.id).removed and not s.lemmy.person(post.creator_id).banned
    db = sqlite3.connect(state)
    try:
        names = {r[0] for r in db.execute("SELECT name FROM cursors")}
    finally:
        db.close()
    assert "killed-daemon" in names and any(n.startswith("session:") for n in names), names
    assert stat.S_IMODE(state.stat().st_mode) == 0o600


def test_the_preview_reads_a_state_an_older_modbot_wrote_without_upgrading_it(acted, capsys):
    """A state from before actions named their item (no `actions.item` column): the
    preview reads it as it is; the schema is upgraded by the first command that writes."""
    _, post, decision, state = acted
    store = Store(state)
    store.close()  # the -wal folded in: the table is rebuilt in the file itself
    db = sqlite3.connect(state)
    db.execute("ALTER TABLE actions DROP COLUMN item")
    db.close()
    before = files(state)

    code, out = run(capsys, "undo", str(decision))
    assert code == 0, out
    assert f"would restore post {post.id}" in out and "would lift the ban" in out, out
    # nothing left beside it either: no empty -wal or -shm where there was none (s31b)
    assert files(state) == before
    assert not state.with_name(f"{state.name}-shm").exists()
    db = sqlite3.connect(f"{state.as_uri()}?mode=ro", uri=True)
    try:
        columns = {r[1] for r in db.execute("PRAGMA table_info(actions)")}
    finally:
        db.close()
    assert "item" not in columns, "no schema upgrade by the preview"
