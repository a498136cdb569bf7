"""What a long command tells the operator on Ctrl-C (``modbot.modes.progress``)."""

from __future__ import annotations

import signal

import pytest

from modbot.modes.progress import StopOnSignal


def ctrl_c(what: str, capsys: pytest.CaptureFixture[str]) -> str:
    with StopOnSignal(what) as stop:
        signal.raise_signal(signal.SIGINT)
        assert stop.is_set()
    return capsys.readouterr().err


def test_a_sweep_says_it_resumes(capsys):
    said = ctrl_c("sweep", capsys)
    assert "stopping after the batch in hand" in said and "resumes next time" in said


def test_a_report_does_not_promise_to_resume(capsys):
    """A report never resumes (each starts its window afresh): on Ctrl-C it writes what it
    has, marked incomplete, and says so."""
    said = ctrl_c("report", capsys)
    assert "resume" not in said
    assert "INCOMPLETE" in said and "Ctrl-C again" in said


def test_the_store_sweeps_progress_counts_files():
    """The store sweep walks pict-rs' files, not Lemmy's items: its lines say so."""
    from modbot.modes.progress import Progress

    lines: list[str] = []
    now = [0.0]
    with Progress(
        "store sweep", unit="files", tty=False, every_s=0, out=lines.append, clock=lambda: now[0]
    ) as p:
        p(5, 10)
        now[0] += 1
        p(7, 10)
        now[0] += 1
        p(9, None)
    assert lines[0] == "store sweep: 5/10 files (50%)"
    assert lines[1].startswith("store sweep: 7/10 files (70%), 2.0 files/s")
    assert lines[2] == "store sweep: 9 files, 2.0 files/s"
