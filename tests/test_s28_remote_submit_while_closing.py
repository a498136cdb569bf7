"""An image submitted just as the remote classifier closes is answered: its verdict, or
EngineClosed. Before, a submit() that had found the engine open, then handed its image
to the engine's loop after close() had stopped that loop, got a Future no one would ever
resolve (or a RuntimeError from a closed loop): whoever waited for it waited for ever."""

from __future__ import annotations

import asyncio
import threading

import pytest
from test_s28d_close_answers_every_image import TOKEN, slow_worker

import classifier.remote
from classifier.engine import EngineClosed
from classifier.remote import RemoteEngine


def test_a_submit_racing_close_is_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = RemoteEngine(["http://w1:8095"], TOKEN, transport=slow_worker(0.05), timeout=2)
    hand_over = asyncio.run_coroutine_threadsafe
    closing = threading.Thread(target=engine.close)

    def close_meanwhile(coro, loop):
        if threading.current_thread() is closing:  # close's own hand-over
            return hand_over(coro, loop)
        # the moment between submit's look at the engine and its hand-over: close runs
        # there (a thread of the bot stopping it), given time to finish if nothing holds it
        closing.start()
        closing.join(timeout=1.0)
        return hand_over(coro, loop)

    monkeypatch.setattr(classifier.remote.asyncio, "run_coroutine_threadsafe", close_meanwhile)
    try:
        future = engine.submit(b"image")
    except RuntimeError as exc:  # the old way's other outcome: the loop was closed
        pytest.fail(f"submit raised {exc!r}")
    finally:
        monkeypatch.undo()
    try:
        answer = future.result(timeout=10)
    except EngineClosed:
        answer = None
    closing.join(timeout=30)
    assert not closing.is_alive()
    assert answer is None or answer.sha256
