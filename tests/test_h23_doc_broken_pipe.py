"""`modbot hash *.jpg | head -1`, `modbot audit | head`: a reader that closes the pipe
early ends the command quietly with status 141 (as a process ended by SIGPIPE), never
a traceback or "Exception ignored" on stderr. Through the real entry point,
`python -m modbot`, in a subprocess whose stdout is a pipe."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from modbot.cli.common import exit_status

ROOT = Path(__file__).resolve().parents[1]


def image(tmp_path: Path) -> Path:
    # not one colour all over: such a picture has no pHash, and `modbot hash` says so on
    # stderr for each file (HASHING 6), which these tests do not read as they go
    path = tmp_path / "one.jpg"
    picture = Image.new("RGB", (32, 32), (200, 30, 40))
    picture.paste((20, 30, 200), (0, 0, 16, 32))
    picture.save(path)
    return path


def modbot(*args: str, buffered: bool = True) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONUNBUFFERED", None)
    if not buffered:  # each print written at once, as under PYTHONUNBUFFERED=1 (Docker)
        env["PYTHONUNBUFFERED"] = "1"
    return subprocess.Popen(
        [sys.executable, "-m", "modbot", "--env-file", "/dev/null", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )


@pytest.mark.parametrize("buffered", [True, False])
def test_a_reader_that_stops_after_one_line_ends_it_quietly(tmp_path: Path, buffered: bool) -> None:
    # more lines than the pipe holds: the command is still printing when `head` leaves
    files = [str(image(tmp_path))] * 1500
    proc = modbot("hash", *files, buffered=buffered)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # as `head -1` does
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141, err
    assert first.decode().startswith("sha256  "), first
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert "BrokenPipeError" not in err, err


@pytest.mark.parametrize("buffered", [True, False])
def test_a_reader_gone_before_the_first_line_ends_it_quietly(
    tmp_path: Path, buffered: bool
) -> None:
    # buffered: a few lines, written when Python flushes stdout at the very end
    proc = modbot("hash", str(image(tmp_path)), buffered=buffered)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141, err
    assert "Traceback" not in err and "Exception ignored" not in err, err


def test_a_broken_pipe_that_is_not_stdout_is_still_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A socket's broken pipe (a worker gone) is not the reader of stdout leaving: it is
    not hidden as a quiet 141."""
    r, w = os.pipe()
    try:
        monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(os.fdopen(w, "wb"), write_through=True))

        def work() -> int:
            raise BrokenPipeError(32, "Broken pipe")

        with pytest.raises(BrokenPipeError):
            exit_status("hash", work)
    finally:
        os.close(r)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize(
    ("buffered", "copies"),
    [
        (True, 1),  # written when the output is flushed at the end
        (True, 1500),  # more than the buffer holds: a print fails in the middle
        (False, 1),  # PYTHONUNBUFFERED=1 (Docker): the first print fails
    ],
)
def test_output_that_cannot_be_written_is_one_line_saying_so(
    tmp_path: Path, buffered: bool, copies: int
) -> None:
    """`> /dev/full`, a full disk: the output fails in the command, said in one line with
    status 1, not as a traceback or "Exception ignored" at the interpreter's exit."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONUNBUFFERED", None)
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "modbot",
                "--env-file",
                "/dev/null",
                "hash",
                *[str(image(tmp_path))] * copies,
            ],
            stdout=full,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=env,
            timeout=120,
        )
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert err == "modbot hash: cannot write its output: No space left on device\n"
