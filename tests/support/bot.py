"""Running the bot as a user does (`python -m modbot ...`) against the fake Lemmy, and
what the tests read back: the one `Bot`, waiting for a condition, a child's stderr lines,
the requests that changed something."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from modbot.store import Store


class Bot:
    """`python -m modbot ...` against a fake Lemmy, with a state file of its own in
    `directory` (where it runs). `pictrs=False`: without PICTRS_URL/PICTRS_API_KEY (an
    upload is then deleted with its token); `strict`: a run must also print no traceback."""

    def __init__(
        self,
        lemmy,
        directory: Path,
        rules: Path,
        *,
        pictrs: bool = True,
        username: str = "modbot",
        password: str = "pw",
        strict: bool = False,
    ) -> None:
        self.lemmy, self.directory, self.strict = lemmy, directory, strict
        self.state = directory / "state.sqlite3"
        self.env = {
            **os.environ,
            "LEMMY_URL": lemmy.url,
            "LEMMY_USERNAME": username,
            "LEMMY_PASSWORD": password,
            "MODBOT_STATE": str(self.state),
            "MODBOT_RULES": str(rules),
        }
        if pictrs:
            self.env.update(PICTRS_URL=lemmy.pictrs_url, PICTRS_API_KEY=lemmy.pictrs_api_key)

    def __call__(
        self, *args: str, rc: int = 0, check: bool = True, timeout: float = 240
    ) -> subprocess.CompletedProcess:
        """Run to the end; with `check`, its exit status must be `rc`."""
        done = subprocess.run(
            [sys.executable, "-m", "modbot", *args],
            env=self.env,
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check:
            assert done.returncode == rc, (done.returncode, done.stdout, done.stderr[-3000:])
        if self.strict:
            assert "Traceback" not in done.stderr, done.stderr[-3000:]
        return done

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "modbot", *args],
            env=self.env,
            cwd=self.directory,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def decisions(self, run_out: str | None = None) -> list[dict]:
        """The recorded decisions; `run_out`: only those of the run whose summary line
        that is."""
        if not self.state.exists():
            return []
        store = Store(self.state)
        try:
            records = store.decisions()
        finally:
            store.close()
        if run_out is not None:
            run_id = run_out.split()[1]
            records = [r for r in records if r["run_id"] == run_id]
        return records


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def wait_for(condition, timeout: float = 120.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Lines:
    """Collects a child's stderr lines as they come."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)

    def join(self) -> None:
        self._thread.join(timeout=30)

    def count(self, text: str) -> int:
        return sum(text in line for line in list(self.lines))

    def text(self) -> str:
        return "".join(self.lines)


def stop_daemon(daemon: subprocess.Popen, err: Lines) -> None:
    """Stop a `modbot run` daemon as systemd or Docker does (SIGTERM), wait for it, and
    read its stderr to the end (``err``'s thread owns the stream: ``err.text()`` is then
    the whole log). The exit status is the caller's to check."""
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(timeout=60)
    err.join()
    if daemon.stdout is not None:
        daemon.stdout.close()


def mutations(lemmy) -> list[tuple[str, str, str]]:
    return [(r.server, r.method, r.path) for r in lemmy.mutating_requests()]


def remote_photo(lemmy, photos, name, as_name=None) -> str:
    return lemmy.add_remote_file(as_name or f"{name}.jpg", photos[name])
