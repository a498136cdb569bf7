"""CPU per image download, in the thread that downloads: modbot's fetcher as it is against
the same fetcher as it was (before its connections kept their socket, before sniffio was
a dependency, and before reads took what the event loop had), alternating in one run.

    .venv/bin/python benchmarks/download.py                 # 128 images of ~1,600 px, 7 rounds
    .venv/bin/python benchmarks/download.py --before reads   # the read size alone

On 2 cores the model uses both; every millisecond the downloads' event loop spends is
taken from it. The fake's remote host (in this process, on its own threads) serves N
distinct real-photo JPEGs; each round downloads all of them, 8 at a time, through one
``Fetcher`` (16 connections), and times the event loop thread's CPU
(``time.thread_time``), which the server's threads do not count in.

"as it was" (``--before all``) undoes three things in this process only:
- httpcore asks each idle connection whether its server closed it, ~15 times a download;
  modbot's connections answer from the socket they keep, anyio's build a dict of every
  socket attribute and call getpeername() each time (``_KeptSocketStream`` bypassed,
  which also undoes the next);
- httpcore reads 64 KiB at a time, anyio splitting what the event loop received (up to
  256 KiB) to that size; modbot's connections take what is there (``--before reads``
  undoes this one alone);
- without sniffio installed, httpcore's ``import sniffio`` on every lock it sets up
  fails, and a failed import is not cached: it searches sys.path each time (simulated by
  a finder that makes that search and then fails, as the import did before).

The last line: ``download CPU: X ms per image now, Y ms before (ratio R)``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.machinery
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


class _NoSniffio:
    """A meta-path finder that makes ``import sniffio`` cost what it cost when sniffio
    was not installed: a search of sys.path, then ImportError."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name != "sniffio":
            return None
        others = [p for p in sys.path if "site-packages" not in p]
        importlib.machinery.PathFinder.find_spec(name, others)
        raise ImportError("No module named 'sniffio'")


# modbot's stream wrapper ("stream") and its read ("read"), while they are swapped out
_KEPT: dict[str, Any] = {}


async def _asked_size(self: Any, max_bytes: int, timeout: float | None = None) -> bytes:
    """``_KeptSocketStream.read`` as it was: the size httpcore asks for."""
    return await self._inner.read(max_bytes, timeout)


def as_before(on: bool, what: str = "all") -> None:
    """Undo (or redo) the changes (``what``: all, or reads) in this process."""
    import modbot.fetch.addresses as addresses

    if not _KEPT:  # the first call, before anything is swapped
        _KEPT["stream"] = addresses._KeptSocketStream
        _KEPT["read"] = addresses._KeptSocketStream.read
    if what == "reads":
        addresses._KeptSocketStream.read = _asked_size if on else _KEPT["read"]  # type: ignore[method-assign]
        return
    if on:
        addresses.__dict__["_KeptSocketStream"] = lambda stream: stream
        sys.modules.pop("sniffio", None)
        sys.meta_path.insert(0, _NoSniffio())
    else:
        addresses.__dict__["_KeptSocketStream"] = _KEPT["stream"]
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _NoSniffio)]
        import sniffio  # noqa: F401  # back in sys.modules


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--images", type=int, default=128)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument(
        "--before",
        choices=("all", "reads"),
        default="all",
        help="what 'before' undoes: all three changes, or the read size alone",
    )
    args = p.parse_args(argv)

    from pipeline import make_images

    from fakelemmy import FakeLemmy
    from modbot.fetch import Fetcher, FetchLimits

    images = make_images(args.images)

    async def one_round(urls: list[str], host: str) -> float:
        fetcher = Fetcher(
            FetchLimits(max_concurrency=16, per_host_concurrency=16), allowed_hosts=[host]
        )
        at_once = asyncio.Semaphore(8)

        async def one(url: str) -> None:
            async with at_once:
                (await fetcher.fetch_first([url])).release()

        await one(urls[0])  # the client made, a connection open: not counted
        started = time.thread_time()
        await asyncio.gather(*(one(u) for u in urls))
        used = time.thread_time() - started
        await fetcher.aclose()
        return used / len(urls) * 1000

    figures: dict[str, list[float]] = {"now": [], "before": []}
    with FakeLemmy(rate_limit=None, login_rate_limit=None) as lemmy:
        urls = [lemmy.add_remote_file(f"p{i}.jpg", d) for i, d in enumerate(images)]
        host = lemmy.remote_url.split("//", 1)[1]
        asyncio.run(one_round(urls, host))  # warm-up
        for number in range(args.rounds):
            order = ("now", "before") if number % 2 == 0 else ("before", "now")
            for way in order:
                as_before(way == "before", args.before)
                try:
                    figures[way].append(asyncio.run(one_round(urls, host)))
                finally:
                    as_before(False, args.before)
            print(
                f"round {number + 1}: now {figures['now'][-1]:.2f} ms, "
                f"before {figures['before'][-1]:.2f} ms per image",
                flush=True,
            )
    now, before = statistics.median(figures["now"]), statistics.median(figures["before"])
    mean_kb = sum(map(len, images)) / len(images) / 1024
    print(f"({args.images} JPEGs, mean {mean_kb:.0f} KiB; medians over {args.rounds} rounds)")
    print(
        f"download CPU: {now:.2f} ms per image now, {before:.2f} ms before (ratio {now / before:.2f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
