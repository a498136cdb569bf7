"""An answer framed two ways is read as its framing says, within the answers' bound.

An answer's body is read once its size fits in its worker's share of the 16 MiB the
answers being read are held within: the size its Content-Length says. But an answer
with a Transfer-Encoding too is read chunked (HTTP's rule, and httpcore's), whatever
its Content-Length: a broken or hostile worker saying 1 byte had every image in flight
read its answer at once, each holding up to 100 KiB of an unfinished chunk's line
(1,024 images: 100 MB). Now such an answer is held as one of unknown length (1 MiB of
the share) while it is read."""

from __future__ import annotations

import time
import tracemalloc

from test_h23_wrk_verdict_checked import TOKEN
from test_s32d_worker_heads_bounded import serve  # noqa: F401 (a fixture)

from classifier.remote import ClassifierUnavailable, RemoteEngine

TWO_WAYS = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1\r\n"
    b"transfer-encoding: chunked\r\n\r\n5;" + b"e" * 95_000  # and the chunk's line goes on
)


def test_an_answer_framed_two_ways_is_held_as_one_of_unknown_length(serve):  # noqa: F811
    url = serve(TWO_WAYS, 30, framed=False)
    images = [b"image %d" % i for i in range(64)]
    with RemoteEngine([url], TOKEN, timeout=4, max_concurrency=64) as engine:
        engine.classify_many([])  # (its start is not counted)
        tracemalloc.start()
        try:
            futures = [engine.submit(image) for image in images]
            time.sleep(2)  # the answers have come as far as they will
            held, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        errors = [f.exception(timeout=20) for f in futures]
    assert all(isinstance(e, ClassifierUnavailable) for e in errors), errors[:3]
    # 16 answers being read (16 MiB, 1 MiB each) hold 95 KB each, the 48 others 8 KB:
    # ~2 MB, and ~3 MB of 64 requests in flight. Before: 64 x 95 KB more
    assert held < 6_000_000, f"{held / 1e6:.1f} MB"
