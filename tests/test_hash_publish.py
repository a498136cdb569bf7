"""Publishing a hash feed: `modbot keys`, `modbot confirm`, `modbot feed publish` and
`modbot feed verify`, through the command line against a state with recorded decisions."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

from modbot.cli import main
from modbot.store import Store

COFFEE = (Path(__file__).parent / "data" / "coffee.jpg").read_bytes()


def record(store: Store, data: bytes, decided_at: str, hashes: dict[str, str]) -> int:
    """A decision as the pipeline records one (the fields confirm reads)."""
    sha = hashlib.sha256(data).hexdigest()
    return store.add_decision(
        {
            "run_id": "r",
            "decided_at": decided_at,
            "item": {"kind": "post", "id": 1},
            "image": {"url": "https://x/1.jpg", "sha256": sha, "hashes": {"sha256": sha, **hashes}},
            "rule": None,
        }
    )


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("MODBOT_STATE", str(tmp_path / "state.sqlite3"))
    store = Store(tmp_path / "state.sqlite3")
    yield store
    store.close()


def test_keys_are_private_and_never_printed(tmp_path: Path, capsys) -> None:
    key = tmp_path / "feed.key"
    assert main(["keys", "--out", str(key)]) == 0
    out = capsys.readouterr().out
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "PRIVATE KEY" not in out and key.read_text() not in out
    public = (tmp_path / "feed.key.pub").read_text().strip()
    assert public.startswith("ed25519:") and out.splitlines()[-1] == public
    assert main(["keys", "--out", str(key)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "feed.key.pub").read_text().strip() == public  # kept


def test_confirm_then_publish_a_feed_that_verifies(
    state: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sha = hashlib.sha256(COFFEE).hexdigest()
    md5 = hashlib.md5(COFFEE).hexdigest()
    record(state, COFFEE, "2026-11-02T10:00:00Z", {"md5": md5})
    later = record(state, COFFEE, "2026-11-05T10:00:00Z", {})
    other = record(state, b"other bytes", "2026-11-06T10:00:00Z", {})
    key = tmp_path / "k"
    assert main(["keys", "--out", str(key)]) == 0
    public = (tmp_path / "k.pub").read_text().strip()
    out = tmp_path / "hashes.json"
    publish = ["feed", "publish", "--key", str(key), "--out", str(out), "--instance", "a.example"]

    # Nothing confirmed: an empty feed (the classifier alone never publishes).
    assert main(publish) == 0
    assert '"entries":[' in out.read_text() and "sha256" not in out.read_text()

    # Unknown files and bad labels are refused, with why.
    assert main(["confirm", "0" * 64, "--bad"]) == 1
    assert "no decision on a file with SHA-256 " + "0" * 64 in capsys.readouterr().err
    assert main(["confirm", sha, "--bad", "--label", "https://x.example/u/a"]) == 1
    assert "never a URL or a name" in capsys.readouterr().err

    assert main(["confirm", "--decision", str(later), "--bad", "--label", "csam"]) == 0
    assert main(["confirm", "--decision", str(other), "--innocent"]) == 0
    # The file itself adds every kind, PDQ with its quality.
    image = tmp_path / "coffee.jpg"
    image.write_bytes(COFFEE)
    assert main(["confirm", sha, "--bad", "--label", "csam", "--image", str(image)]) == 0
    assert main(["confirm", sha, "--bad", "--image", str(tmp_path / "k.pub")]) == 1
    assert "that file is not the one decided on" in capsys.readouterr().err
    capsys.readouterr()
    assert main(publish) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out} (6 entries) and {out}.sig")
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    entries = [json.loads(line.rstrip(",")) for line in out.read_text().splitlines()[1:-1]]
    mine = {e["kind"]: e for e in entries if e["verdict"] == "bad"}
    assert set(mine) == {"sha256", "md5", "sha1", "phash", "pdq"}
    assert mine["md5"] == {
        "kind": "md5",
        "hash": md5,
        "verdict": "bad",
        "label": "csam",
        "first_seen": "2026-11-02",  # the first decision on the file
    }
    assert mine["pdq"]["quality"] == 100
    (innocent,) = [e for e in entries if e["verdict"] == "innocent"]
    assert innocent["label"] == "false-positive" and innocent["kind"] == "sha256"
    text = out.read_text()
    assert "https://" not in text and '"id"' not in text  # hashes and labels only

    assert main(["feed", "verify", str(out), "--key", public, "--instance", "a.example"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("valid: a.example, generated ") and "  sha256 bad: 1\n" in shown
    out.write_text(text.replace("csam", "spam"))
    assert main(["feed", "verify", str(out), "--key", public]) == 1
    assert "does not match its signature file" in capsys.readouterr().err

    assert main(["confirm", sha, "--withdraw"]) == 0
    assert main(publish) == 0
    assert md5 not in out.read_text()


def test_a_publish_killed_midway_blocks_no_later_one(
    state: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """kill -9 between writing and renaming leaves a temporary file; in the container
    modbot is PID 1 every time, so a name made from the PID would be taken forever."""
    import os

    key, out = tmp_path / "k", tmp_path / "hashes.json"
    for name in (key.name, key.name + ".pub", out.name, out.name + ".sig"):
        (tmp_path / f".{name}.{os.getpid()}.tmp").write_bytes(b"what a killed run left")
    assert main(["keys", "--out", str(key)]) == 0
    publish = ["feed", "publish", "--key", str(key), "--out", str(out), "--instance", "a.example"]
    assert main(publish) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote {out} (0 entries) and {out}.sig"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "hashes.json.sig").stat().st_mode) == 0o644


def test_an_empty_feed_never_replaces_a_published_one_unless_asked(
    state: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A newer empty feed makes every subscriber drop every entry: a typo in --kind, a
    kind nothing was confirmed with, or withdrawing everything must not do it quietly."""
    sha = hashlib.sha256(COFFEE).hexdigest()
    record(state, COFFEE, "2026-11-02T10:00:00Z", {})
    key, out = tmp_path / "k", tmp_path / "hashes.json"
    assert main(["keys", "--out", str(key)]) == 0
    publish = ["feed", "publish", "--key", str(key), "--out", str(out), "--instance", "a.example"]
    assert main(["confirm", sha, "--bad", "--label", "csam"]) == 0
    assert main(publish) == 0
    published = out.read_bytes(), (tmp_path / "hashes.json.sig").read_bytes()
    assert sha in published[0].decode()
    capsys.readouterr()

    with pytest.raises(SystemExit) as exited:  # a typo: refused by the parser
        main([*publish, "--kind", "sha-256"])
    assert exited.value.code == 2
    assert "invalid choice: 'sha-256'" in capsys.readouterr().err

    assert main([*publish, "--kind", "pdq"]) == 1  # no PDQ confirmed (no --image)
    err = capsys.readouterr().err
    assert f"{out} holds 1 entry and the new feed would hold none" in err
    assert "--allow-empty" in err
    assert (out.read_bytes(), (tmp_path / "hashes.json.sig").read_bytes()) == published

    assert main(["confirm", sha, "--withdraw"]) == 0
    assert main(publish) == 1
    assert (out.read_bytes(), (tmp_path / "hashes.json.sig").read_bytes()) == published
    assert main([*publish, "--allow-empty"]) == 0  # the admin really withdrew everything
    assert sha not in out.read_text() and '"entries":[' in out.read_text()
    assert main(publish) == 0  # empty over empty: nothing lost


def test_files_that_cannot_be_used_are_one_line_each(
    state: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """A missing file or folder, or a bad host, ends the command with status 1 and one
    line naming it, never a traceback; a password in LEMMY_URL is never shown."""
    sha = hashlib.sha256(COFFEE).hexdigest()
    record(state, COFFEE, "2026-11-02T10:00:00Z", {})
    key, missing = tmp_path / "k", tmp_path / "missing"
    assert main(["keys", "--out", str(missing / "k")]) == 1
    assert capsys.readouterr().err == f"modbot keys: {missing / 'k'}: No such file or directory\n"
    assert main(["keys", "--out", str(key)]) == 0
    assert main(["confirm", sha, "--bad", "--image", str(missing / "a.jpg")]) == 1
    assert capsys.readouterr().err == f"modbot confirm: {missing / 'a.jpg'}: no such file\n"
    publish = ["feed", "publish", "--instance", "a.example"]
    assert main([*publish, "--key", str(missing / "k"), "--out", str(tmp_path / "h.json")]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"modbot feed publish: no private key at {missing / 'k'}: make one with `modbot keys` "
        "(or give --key FILE)\n"
    )
    assert main([*publish, "--key", str(key), "--out", str(missing / "h.json")]) == 1
    err = capsys.readouterr().err
    assert err == f"modbot feed publish: {missing / 'h.json'}: No such file or directory\n"
    assert list(tmp_path.glob(".*.tmp")) == []
    assert main(["feed", "verify", str(missing / "h.json"), "--key", "ed25519:x"]) == 1
    err = capsys.readouterr().err
    assert err == f"modbot feed verify: {missing / 'h.json'}: No such file or directory\n"

    out = tmp_path / "hashes.json"
    publish = ["feed", "publish", "--key", str(key), "--out", str(out)]
    assert main([*publish, "--instance", "not a host"]) == 1
    assert "modbot feed publish: instance 'not a host' is not a lower-case host name" in (
        capsys.readouterr().err
    )
    monkeypatch.setenv("LEMMY_URL", "https://bot:hunter2secret@Lemmy.Example:8443/")
    assert main(publish) == 0
    assert '"instance":"lemmy.example:8443"' in out.read_text()
    monkeypatch.setenv("LEMMY_URL", "https://bot:hunter2secret@/")
    assert main(publish) == 1
    shown = capsys.readouterr()
    assert "hunter2secret" not in shown.out + shown.err
    assert "give --instance HOST" in shown.err
