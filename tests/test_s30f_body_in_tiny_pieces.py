"""A body sent in tiny pieces (a byte per packet, over the 120 s a body may take) was
held as one Python object per piece until the whole came: dozens of bytes of memory for
each byte counted in --max-bytes-held (4.5 MB for a body of 50 KB), so the worker's
memory bound held many times over for a client sending that way. Its pieces are now
gathered into one buffer as they come: a body holds about its own size."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

import pytest

from classifier import load_model
from classifier.service import WorkerConfig, WorkerService
from classifier.tiny import tiny_spec

SIZE = 50_000  # bytes, sent in one piece or one byte a piece


@pytest.fixture(scope="module")
def service(tiny_checkpoint, tmp_path_factory):
    made = WorkerService(
        load_model(tiny_spec(tiny_checkpoint)),
        WorkerConfig(text_cache_dir=tmp_path_factory.mktemp("text-cache"), decode_processes=0),
    )
    yield made
    made.close()


def peak_memory(service: WorkerService, piece: int) -> int:
    """The most memory (Python's) the worker held at once for one body of SIZE bytes,
    sent ``piece`` bytes at a time."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/classify",
        "headers": [(b"content-length", str(SIZE).encode())],
        "query_string": b"",
        "http_version": "1.1",
        "scheme": "http",
        "server": ("w", 80),
        "client": ("127.0.0.1", 5),
        "root_path": "",
    }
    left = SIZE
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal left
        left -= piece
        return {"type": "http.request", "body": b"\0" * piece, "more_body": left > 0}

    async def send(message: dict) -> None:
        sent.append(message)

    gc.collect()
    tracemalloc.start()
    try:
        asyncio.run(service.app(scope, receive, send))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sent[0]["status"] == 200  # (a verdict: unreadable, not an image)
    assert service.bytes_held.in_use == 0
    return peak


def test_a_body_in_one_byte_pieces_holds_about_its_size(service):
    peak_memory(service, SIZE)  # (the first request's one-off allocations)
    whole = peak_memory(service, SIZE)
    in_pieces = peak_memory(service, 1)
    # a copy of the body at most beyond the body sent whole; not ~40 bytes a piece
    assert in_pieces < whole + 2 * SIZE, f"{in_pieces:,} bytes at the peak, sent whole {whole:,}"
