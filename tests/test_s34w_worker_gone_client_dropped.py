"""A worker past its model's pace (a trusted larger instance's, at a peak): its
requests wait for a place in the engine's queue, and a client whose own timeout passes
meanwhile goes away (the bot's is 60 s) and asks its next worker. The worker still held
that request: its place among --max-pending, its body in --max-bytes-held (so live
clients got 503 busy), and then decoded and classified the image for nobody, the
client's retry of it elsewhere adding to the load. A request whose client has gone
while it waits is now dropped there: counted as `disconnected`, its body and place let
go, its image never sent to the model. Driven in-process (ASGI): no timing."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib

import pytest

from classifier import load_model
from classifier.service import WorkerConfig, WorkerService
from classifier.tiny import tiny_spec


def _scope() -> dict:
    return {
        "type": "http",
        "method": "POST",
        "path": "/v1/classify",
        "headers": [(b"content-type", b"image/jpeg")],
        "query_string": b"",
        "http_version": "1.1",
        "scheme": "http",
        "server": ("w", 80),
        "client": ("127.0.0.1", 5),
        "root_path": "",
    }


async def _until(condition, what: str) -> None:
    for _ in range(1000):  # (a bound on the test, not a timed assertion)
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):
    return load_model(tiny_spec(tiny_checkpoint))


def test_a_client_gone_while_its_request_waits_is_dropped(loaded, tmp_path):
    service = WorkerService(
        loaded, WorkerConfig(max_queue=1, decode_processes=0, text_cache_dir=tmp_path)
    )
    engine = service.default_engine
    submitted: list[bytes] = []
    held: concurrent.futures.Future = concurrent.futures.Future()
    real_submit = engine._submit

    def submit(data: bytes) -> concurrent.futures.Future:
        submitted.append(data)
        # the first image keeps the engine's one place until the test lets it go
        return held if len(submitted) == 1 else real_submit(data)

    engine._submit = submit
    first, second = b"first image " * 100, b"second image " * 100
    answers: dict[str, list[dict]] = {"first": [], "second": []}
    gone = asyncio.Event

    async def main() -> None:
        left = gone()

        def client(name: str, body: bytes, leaves: asyncio.Event | None):
            sent_body = False

            async def receive() -> dict:
                nonlocal sent_body
                if not sent_body:
                    sent_body = True
                    return {"type": "http.request", "body": body, "more_body": False}
                await (leaves or asyncio.Event()).wait()
                return {"type": "http.disconnect"}

            async def send(message: dict) -> None:
                answers[name].append(message)

            return asyncio.ensure_future(service.app(_scope(), receive, send))

        a = client("first", first, None)
        await _until(lambda: submitted == [first], "the first image is with the model")
        b = client("second", second, left)
        await _until(lambda: engine._slots._async_waiters, "the second waits for a place")
        assert service.pending == 2 and service.bytes_held.in_use == len(first) + len(second)

        left.set()  # its client gives up
        try:
            await asyncio.wait_for(asyncio.shield(b), 10)
        except TimeoutError:
            pytest.fail("a request whose client went away kept waiting for the model")
        finally:
            held.set_result(engine._unreadable(hashlib.sha256(first).hexdigest(), "test"))
            engine._slots.release()  # (the place the stand-in future held)
            await asyncio.wait_for(a, 30)
            if not b.done():
                await asyncio.wait_for(b, 30)

    try:
        asyncio.run(main())
        assert service.counters["disconnected"] == 1
        assert submitted == [first], "the gone client's image never went to the model"
        assert answers["first"][0]["status"] == 200, "the client still there has its verdict"
        assert service.pending == 0 and service.bytes_held.in_use == 0
    finally:
        service.close()
