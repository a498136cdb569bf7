"""Two `modbot feed publish` at once (a cron job and an admin by hand) write one
feed and the signature of that same feed: the second waits for the first, then writes
its own pair. Mid-publish a reader sees the old pair, or the new feed with the old
signature (a subscriber then fetches both again, once), never a pair left mismatched."""

from __future__ import annotations

import fcntl
import hashlib
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import modbot.feeds as feeds
from modbot.feeds import FeedChanged, generate_key, verify_feed_files
from modbot.sharing import Published, confirm, publish
from modbot.store import Store


def state_with(path: Path, files: list[bytes]) -> Store:
    """A state whose admins confirmed these files bad."""
    store = Store(path)
    for n, data in enumerate(files):
        sha = hashlib.sha256(data).hexdigest()
        store.add_decision(
            {
                "run_id": "r",
                "decided_at": f"2026-11-0{n + 1}T10:00:00Z",
                "item": {"kind": "post", "id": n},
                "image": {"url": f"https://x/{n}.jpg", "sha256": sha, "hashes": {"sha256": sha}},
                "rule": None,
            }
        )
        confirm(store, sha256=sha, verdict="bad", label="csam")
    return store


def test_two_publishers_at_once_leave_a_feed_and_its_own_signature(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "feed.key"
    public = generate_key(key)
    out = tmp_path / "site" / "hashes.json"
    out.parent.mkdir()
    a = state_with(tmp_path / "a.sqlite3", [b"one"])
    b = state_with(tmp_path / "b.sqlite3", [b"one", b"two"])
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    publish(a, instance="a.example", key_path=key, out=out, now=hour_ago)  # subscribers have it

    # A stops between its feed file and its signature file; B starts then
    a_wrote_feed, a_goes_on, b_settled = threading.Event(), threading.Event(), threading.Event()
    real_write, real_flock = feeds._write_atomically, fcntl.flock

    def write(path: Path, data: bytes, mode: int) -> None:
        real_write(path, data, mode)
        if threading.current_thread().name == "publisher-a" and path == out:
            a_wrote_feed.set()
            assert a_goes_on.wait(30)

    def flock(fd: int, operation: int) -> None:
        try:
            real_flock(fd, operation)
        except BlockingIOError:  # B finds A publishing
            if threading.current_thread().name == "publisher-b":
                b_settled.set()
            raise

    monkeypatch.setattr(feeds, "_write_atomically", write)
    monkeypatch.setattr(fcntl, "flock", flock)
    done: dict[str, Published | BaseException] = {}

    def run(name: str, store: Store) -> None:
        try:
            done[name] = publish(store, instance="a.example", key_path=key, out=out)
        except BaseException as exc:
            done[name] = exc
        finally:
            b_settled.set()

    first = threading.Thread(target=run, args=("a", a), name="publisher-a")
    first.start()
    assert a_wrote_feed.wait(30)
    # what a reader sees mid-publish: the new feed, the old signature
    with pytest.raises(FeedChanged):
        verify_feed_files(out, public)
    second = threading.Thread(target=run, args=("b", b), name="publisher-b")
    second.start()
    assert b_settled.wait(30)  # B wrote both files, or waits for A
    a_goes_on.set()
    first.join(30)
    second.join(30)
    a.close()
    b.close()

    assert isinstance(done["a"], Published) and isinstance(done["b"], Published), done
    verified = verify_feed_files(out, public, instance="a.example")
    assert len(verified.feed.entries) == 2  # B's, written after A's
    left = sorted(p.name for p in out.parent.iterdir() if not p.name.startswith("."))
    assert left == ["hashes.json", "hashes.json.sig"]  # no temporary file left
