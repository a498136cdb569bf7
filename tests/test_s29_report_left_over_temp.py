"""What a writer killed midway leaves beside a report (or a feed, or a key).

A report is written to a temporary file beside it, then renamed over it. Before, a
kill -9 during the write left that temporary file (`.report.html.xxxxxxxx`, as large as
the report) for good, one more each time. Now the next write of the same file removes
it; one being written now (locked) or just made is left alone."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from modbot.modes.report import write_report

WRITER = """
import sys, time
from pathlib import Path
from modbot.replace_file import replace_file

def write(f):
    f.write(b"<html>half a report")
    f.flush()
    print("writing", flush=True)
    time.sleep(60)

replace_file(Path(sys.argv[1]), write)
"""


def temps(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".report.html."))


def aged(path: Path) -> None:
    old = time.time() - 3600
    os.utime(path, (old, old))


def test_a_writer_killed_midway_leaves_nothing_after_the_next_write(tmp_path: Path):
    report = tmp_path / "report.html"
    write_report(report, [])
    before = report.read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(report)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    (left,) = temps(tmp_path)
    assert report.read_bytes() == before  # the last good report is intact
    aged(tmp_path / left)
    write_report(report, [])
    assert temps(tmp_path) == []
    assert report.read_bytes().startswith(b"<!DOCTYPE html>")


def test_a_file_being_written_or_just_made_is_left_alone(tmp_path: Path):
    report = tmp_path / "report.html"
    locked, young, other = (
        tmp_path / ".report.html.abcd1234.tmp",
        tmp_path / ".report.html.efgh5678",
        tmp_path / ".notes.html.ijkl9012",
    )
    for path in (locked, young, other):
        path.write_bytes(b"x")
    aged(locked)
    aged(other)
    with open(locked, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another writer, at work
        write_report(report, [])
    assert temps(tmp_path) == sorted([locked.name, young.name])
    assert other.exists()  # another file's


def test_a_filesystem_without_locks_still_gets_its_report(tmp_path, monkeypatch):
    """Some network filesystems refuse flock (ENOLCK): the report is written all the
    same, and neither a temporary file nor a file descriptor is left behind."""
    import errno

    import modbot.replace_file

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(modbot.replace_file.fcntl, "flock", no_locks)
    report = tmp_path / "report.html"
    fds = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        write_report(report, [])
    assert report.read_bytes().startswith(b"<!DOCTYPE html>")
    assert temps(tmp_path) == []
    assert len(os.listdir("/proc/self/fd")) == fds
