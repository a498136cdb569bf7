"""The decode budget's line of waiting reservations when a wait is interrupted."""

from __future__ import annotations

import threading

import pytest

from classifier.budget import DecodeBudget


def _reserve_in_thread(budget: DecodeBudget, nbytes: int, timeout: float = 5.0) -> bool:
    got = []
    thread = threading.Thread(target=lambda: got.append(budget.reserve(nbytes)), daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(got)


def test_a_reservation_interrupted_while_waiting_leaves_the_line():
    budget = DecodeBudget(100)
    holder = budget.reserve(80)
    wait = budget._cond.wait

    def interrupted(*args, **kwargs):  # Ctrl-C (or any exception) while waiting
        raise KeyboardInterrupt

    budget._cond.wait = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        budget.reserve(50)
    budget._cond.wait = wait  # type: ignore[method-assign]
    holder.release()
    assert budget.in_use == 0
    # the interrupted request neither holds bytes nor blocks the line
    assert _reserve_in_thread(budget, 10), "a later reservation waits forever"
    assert budget.in_use == 10
