"""A worker that fails the images in flight at one moment (restarted or killed mid-batch:
every connection drops; busy: every request gets 503 with Retry-After: 1) failed once,
not once per image: it is left alone for the first backoff (1 s), and the images are
asked again then. Before, each of the bot's concurrent requests counted as another
failure in a row, doubling the backoff each time: 8 images in flight put the worker
out for max_backoff (60 s), every image of that minute skipped as
classifier_unavailable though it was back after a second."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from test_h23_wrk_verdict_checked import TOKEN, verdict

from classifier.remote import RemoteEngine

IN_FLIGHT = 8


def worker_failing_one_batch(failure):
    """A transport whose first IN_FLIGHT classify requests, all in flight together, fail
    with ``failure``; the next get verdicts. And how many requests it got."""
    asked = [0]
    arrived = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        asked[0] += 1
        if asked[0] > IN_FLIGHT:
            return httpx.Response(200, json=verdict(request.content))
        if asked[0] == IN_FLIGHT:
            arrived.set()
        await arrived.wait()  # the whole batch is in the worker when it fails
        return failure(request)

    return httpx.MockTransport(handler), asked


def busy(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        503,
        json={"error": "the worker is busy; try another worker or later"},
        headers={"Retry-After": "1"},
    )


def killed(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("Server disconnected without sending a response.")


@pytest.mark.parametrize("failure", [busy, killed])
def test_images_in_flight_when_the_worker_fails_are_asked_again_after_one_backoff(failure):
    mock, asked = worker_failing_one_batch(failure)
    images = [b"image %d" % n for n in range(IN_FLIGHT)]
    with RemoteEngine(["http://w1:8095"], TOKEN, transport=mock, timeout=10) as engine:
        futures = [engine.submit(image) for image in images]
        verdicts = [f.result(timeout=30) for f in futures]
    assert [v.sha256 for v in verdicts] == [verdict(image)["sha256"] for image in images]
    assert asked[0] == 2 * IN_FLIGHT, "each image asked again once"
