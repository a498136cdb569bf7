"""Without a terminal, a sweep's progress line measures its rate and ETA from the first
batch done, not from when the display was made.

Before: the rate was ``done / (now - creation)``. A store sweep that read the media list
and counted the store for 5 minutes before its first file logged, once files went at
10 a second, about 1 a second and an ETA ten times too long."""

from __future__ import annotations

from modbot.modes.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_eta_after_a_slow_first_phase_is_the_walks_own():
    clock, lines = Clock(), []
    with Progress(
        "store sweep", unit="files", tty=False, every_s=30, out=lines.append, clock=clock
    ) as progress:
        clock.now += 300  # the media list read, the store counted: no file yet
        progress(50, 1000)  # the first batch
        clock.now += 30
        progress(350, 1000)  # 300 files in 30 s: 10 a second
    assert lines[0] == "store sweep: 50/1000 files (5%)", lines  # no rate from one point
    assert lines[1] == "store sweep: 350/1000 files (35%), 10.0 files/s, ETA 0:01:05", lines


def test_without_a_total_the_line_says_the_rate():
    clock, lines = Clock(), []
    progress = Progress("sweep", tty=False, every_s=30, out=lines.append, clock=clock)
    clock.now += 120
    progress(0, None)  # a backlog already seen: pages read, nothing new
    clock.now += 40
    progress(200, None)
    assert lines == ["sweep: 0 items", "sweep: 200 items, 5.0 items/s"]
