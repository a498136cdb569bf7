"""What a worker sends ahead of what the bot reads is bounded for each image in flight.

An answer's body is read once it fits in its worker's share of the 16 MiB the answers
being read are held within; until then it was not read, but asyncio takes up to 256
KiB off the connection at a time into the stream's queue whatever is read of it: a
broken or hostile worker sending every answer's body at once had each image waiting
for room hold 256 KiB (1,024 images: 256 MiB). Now 8 KiB is taken at a time; the rest
waits with the kernel, as TCP means it to."""

from __future__ import annotations

import time
import tracemalloc

from test_h23_wrk_verdict_checked import TOKEN
from test_s32d_worker_heads_bounded import serve  # noqa: F401 (a fixture)

from classifier.remote import ClassifierUnavailable, RemoteEngine

# an answer of just under the 1 MiB one may be, its first 200 KB sent at once
LARGE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n"
    + b" " * 200_000
)


def test_answers_waiting_for_room_are_not_taken_off_the_connection(serve):  # noqa: F811
    url = serve(LARGE, 30, framed=False)
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
    # 16 answers being read (1 MiB of the 16 each) hold 200 KB, the 48 waiting 16 KB
    # at most, and 64 requests in flight ~3 MB: ~7 MB. Before: 48 x 200 KB more
    assert held < 8_500_000, f"{held / 1e6:.1f} MB"
