"""Without a terminal, a sweep whose first batch (or next one) is long in coming says
so every ``every_s``, not nothing for minutes.

Before: the progress line was written only when a batch was done. A store sweep reading
the media list and counting the store, or a sweep whose Lemmy answered slowly, logged
its start line and then nothing for many minutes: an operator reading the log could not
tell a long read from a hung process."""

from __future__ import annotations

import threading
import time

from modbot.modes.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_long_read_before_the_first_batch_is_said():
    clock, lines = Clock(), []
    with Progress(
        "store sweep", unit="files", tty=False, every_s=30, out=lines.append, clock=clock
    ) as progress:
        clock.now += 10
        progress.tick()  # not yet: within every_s of the start
        assert lines == []
        clock.now += 110
        progress.tick()
        assert lines == ["store sweep: no files done yet, 0:02:00 since it started"]
        clock.now += 10
        progress.tick()  # said at most every every_s
        assert len(lines) == 1


def test_a_walk_that_stops_moving_says_since_when():
    clock, lines = Clock(), []
    with Progress("sweep", tty=False, every_s=30, out=lines.append, clock=clock) as progress:
        clock.now += 5
        progress(50, None)  # the first batch, not logged (within every_s)
        clock.now += 20
        progress.tick()  # a batch 20 s ago: nothing to say
        clock.now += 70
        progress.tick()
    assert lines == ["sweep: 50 items, none more in the last 0:01:30"], lines


def test_the_watch_runs_on_its_own_and_ends_with_the_display():
    lines: list[str] = []
    said = threading.Event()

    def out(line: str) -> None:
        lines.append(line)
        said.set()

    progress = Progress("sweep", tty=False, every_s=0.05, out=out)
    assert said.wait(10), "no line while nothing was done"
    progress.close()
    time.sleep(0.2)
    count = len(lines)
    time.sleep(0.2)
    assert len(lines) == count  # closed: it says nothing more
    assert lines[0].startswith("sweep: no items done yet, ")
