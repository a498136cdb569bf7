"""The budget of downloaded bodies held at once (``FetchLimits.max_bytes_held``): a
download holds ``max_bytes`` of it while it runs (waiting, before it starts, until that
much is free), then the body's actual size until the caller is done with it."""

from __future__ import annotations

import asyncio
import threading
from collections import deque

__all__ = ["BodyBudget", "BodyHold"]


class BodyHold:
    """Bytes held in a ``BodyBudget``: ``shrink(n)`` to what the body turned out to be,
    ``release()`` when it is dropped."""

    def __init__(self, budget: BodyBudget, nbytes: int) -> None:
        self._budget = budget
        self.nbytes = nbytes

    def shrink(self, nbytes: int) -> None:
        freed = self.nbytes - max(0, min(nbytes, self.nbytes))
        self.nbytes -= freed
        if freed:
            self._budget._give_back(freed)

    def release(self) -> None:
        self.shrink(0)


class BodyBudget:
    """A byte semaphore for downloaded bodies, first come first served. Used on one
    event loop (the first ``hold``'s); ``release`` may come from any thread (a dropped
    ``Fetched``)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.in_use = 0
        # the most ever reserved at once (see reset_peak): a running download counts its
        # whole hold (``max_bytes``), not the bytes read so far; the cycle's "memory
        # peak" line shows this (docs/configuration.md, Memory)
        self.peak = 0
        self.waits = 0  # holds that had to wait for bytes to be released
        self._waiting: deque[tuple[int, asyncio.Future]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None

    def hold_now(self, nbytes: int) -> BodyHold | None:
        """``nbytes`` held at once, or None when that would mean waiting (call from the
        loop ``hold`` runs on)."""
        if self._loop is None:
            self._loop, self._thread = asyncio.get_running_loop(), threading.get_ident()
        nbytes = max(0, min(nbytes, self.total))
        if not self._waiting and self.in_use + nbytes <= self.total:
            self._take(nbytes)
            return BodyHold(self, nbytes)
        return None

    async def hold(self, nbytes: int) -> BodyHold:
        held = self.hold_now(nbytes)
        if held is not None:
            return held
        assert self._loop is not None  # set by hold_now
        nbytes = max(0, min(nbytes, self.total))
        self.waits += 1
        granted = self._loop.create_future()
        entry = (nbytes, granted)
        self._waiting.append(entry)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._give_back(nbytes)  # granted just as we were cancelled
            else:
                self._waiting.remove(entry)
                self._grant()  # the one behind us may fit now
            raise
        return BodyHold(self, nbytes)

    def reset_peak(self) -> None:
        self.peak = self.in_use

    def _take(self, nbytes: int) -> None:
        self.in_use += nbytes
        self.peak = max(self.peak, self.in_use)

    def _give_back(self, nbytes: int) -> None:
        if self._loop is not None and threading.get_ident() != self._thread:
            try:
                self._loop.call_soon_threadsafe(self._give_back, nbytes)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                self.in_use -= nbytes
            return
        self.in_use -= nbytes
        self._grant()

    def _grant(self) -> None:
        while self._waiting and self.in_use + self._waiting[0][0] <= self.total:
            nbytes, granted = self._waiting.popleft()
            if granted.done():
                continue
            self._take(nbytes)
            granted.set_result(None)
