"""Decoding in processes, for a GPU: Pillow's decode holds Python's GIL for much of its
work, so decode threads in one process cannot feed a GPU (BENCHMARKS.md, "What feeds a
GPU": 288 images/s in 16 threads against 1,094 in 16 processes on an H200's host).

    with ProcessDecoder(16) as decoder:
        decoded = decoder.decode(data, cfg, keep_source=False, defer=True, budget=budget)

The engine's decode threads stay; each sends one image to a process of its own and
waits (GIL released) for the pixels. The memory bound stays the engine's: the decode's
cost is estimated from the headers and held in the caller's ``DecodeBudget`` here, in
this process, before the bytes leave, as a decode thread holds it (the same estimate,
refusals and words); a process decodes one image at a time and hands its heap back to
the system after a large one.

Each process is a Python running ``main`` here, talking over its stdin and
stdout (length-prefixed pickles, between this package's own processes only): no fork of
a process whose torch threads may hold locks, no re-import of the caller's main module,
and a process whose parent dies (kill -9) reads the end of its input and exits.

A process that dies while decoding (a crash in an image library on hostile bytes, the
kernel's OOM killer) is replaced, and the image, the only one it held, is decoded once
more in a new one; if that one dies too the image is unreadable, said so. In a decode
thread the same crash would have ended the whole bot.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from typing import Any

from classifier.budget import TRIM_ABOVE, DecodeBudget, estimate, give_memory_back
from classifier.preprocess import Decoded, PreprocessConfig, Unreadable, decode_image

log = logging.getLogger(__name__)

TRIES = 2  # a second process dying on the same image makes it unreadable
DIED = (
    "the decoding process died while decoding it, twice (a crash in the image library, "
    "or the kernel's memory limit): not classified"
)
_LENGTH = struct.Struct("<Q")


class DecodeError(Exception):
    """An unexpected error in a decoding process (a decoder bug); the engine records the
    image unreadable with these words, as it does for the same error in a thread."""


class _Died(Exception):
    """The process answered nothing: it died."""


def _decode(
    data: bytes, cfg: PreprocessConfig, keep_source: bool, defer: bool, cost: int
) -> Decoded | tuple[str, str]:
    """In a process: the decode, or ``("unreadable" | "error", words)``."""
    try:
        return decode_image(data, cfg, keep_source=keep_source, defer=defer)
    except Unreadable as exc:
        return ("unreadable", exc.reason)
    except Exception as exc:  # a decoder bug on hostile bytes
        return ("error", f"{type(exc).__name__}: {exc}")
    finally:
        if cost >= TRIM_ABOVE:
            give_memory_back()  # a large decode's heap, before the next image


def _read(stream: Any) -> bytes | None:
    """One length-prefixed message; None at the end of the stream."""
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        return None
    size = _LENGTH.unpack(header)[0]
    body = stream.read(size)
    return body if len(body) == size else None


def _write(stream: Any, obj: object) -> None:
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(body)))
    stream.write(body)
    stream.flush()


def serve(work: Any = _decode) -> None:
    """A decoding process's loop: requests on stdin, answers on stdout, until stdin ends
    (the parent closed it, or died)."""
    requests = sys.stdin.buffer
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print cannot break the stream
    while (message := _read(requests)) is not None:
        _write(answers, work(*pickle.loads(message)))


def _environment() -> dict[str, str]:
    """This one, with this package importable (a script may have put it on sys.path
    only)."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    return env


_ENV = _environment()


class _Process:
    def __init__(self, command: list[str], env: dict[str, str]):
        self.popen = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True, env=env
        )

    def call(self, request: tuple) -> Any:
        try:
            _write(self.popen.stdin, request)
            answer = _read(self.popen.stdout)
        except (BrokenPipeError, ValueError, OSError):
            answer = None
        if answer is None:
            raise _Died
        return pickle.loads(answer)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            assert self.popen.stdin is not None
            self.popen.stdin.close()  # the end of its input: it exits
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        if self.popen.stdout is not None:
            self.popen.stdout.close()


class ProcessDecoder:
    """``processes`` decoding processes, shared by any number of engines (a worker's
    concept sets) and threads: a caller waits for a free one. ``close()`` stops them."""

    def __init__(self, processes: int, *, niceness: int = 0) -> None:
        if processes < 1:
            raise ValueError("a process decoder needs at least one process")
        from PIL import Image

        self.processes = processes
        self._niceness = niceness
        self._max_pixels = Image.MAX_IMAGE_PIXELS  # the caller's Pillow limit, in each
        self.restarts = 0  # processes replaced after one died
        self._lock = threading.Lock()
        self._closed = False
        self._all: list[_Process] = []
        self._idle: queue.LifoQueue[_Process] = queue.LifoQueue()
        try:
            for _ in range(processes):  # started together: they import in parallel
                self._idle.put(self._start())
        except BaseException:
            self.close()
            raise

    def _command(self) -> list[str]:
        """How a decoding process is started (a test's may crash on purpose)."""
        start = "import sys; from classifier.decode_processes import main; main(sys.argv[1:])"
        return [sys.executable, "-c", start, str(self._niceness), repr(self._max_pixels)]

    def _start(self) -> _Process:
        process = _Process(self._command(), _ENV)
        with self._lock:
            self._all.append(process)
        return process

    def decode(
        self,
        data: bytes,
        cfg: PreprocessConfig,
        *,
        keep_source: bool = False,
        defer: bool = False,
        budget: DecodeBudget | None = None,
    ) -> Decoded:
        """``decode_image(data, cfg, keep_source, budget, defer)``, in a process. Raises
        ``Unreadable`` as it does, and ``DecodeError`` for an unexpected error."""
        # what the decode will cost, from the headers, held while it runs (a decode
        # thread's Decoding holds the same: classifier.budget.estimate)
        cost = estimate(data, cfg, budget)
        held = budget.reserve(cost) if budget is not None else None
        try:
            for _ in range(TRIES):
                process = self._take()
                try:
                    result = process.call((data, cfg, keep_source, defer, cost))
                except _Died:
                    self._replace(process)
                    continue
                self._idle.put(process)
                if isinstance(result, tuple):
                    kind, words = result
                    if kind == "unreadable":
                        raise Unreadable(words)
                    raise DecodeError(words)
                return result
            raise Unreadable(DIED)
        finally:
            if held is not None:
                held.release()

    def _take(self) -> _Process:
        if self._closed:
            raise RuntimeError("the process decoder is closed")
        return self._idle.get()

    def _replace(self, dead: _Process) -> None:
        code = dead.popen.poll()
        log.warning(
            "a decoding process died (exit status %s: a crash on hostile bytes, or the "
            "memory limit): starting a new one; its image is decoded once more",
            code,
        )
        dead.stop()
        with self._lock:
            self._all.remove(dead)
            self.restarts += 1
        if not self._closed:
            self._idle.put(self._start())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            processes, self._all = self._all, []
        for process in processes:
            process.stop()

    def pids(self) -> list[int]:
        """The decoding processes now running (for tests)."""
        with self._lock:
            return sorted(p.popen.pid for p in self._all)

    def __enter__(self) -> ProcessDecoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str]) -> None:
    """A decoding process: ``NICENESS MAX_IMAGE_PIXELS`` (the parent's Pillow limit)."""
    from PIL import Image

    niceness, max_pixels = int(argv[0]), argv[1]
    Image.MAX_IMAGE_PIXELS = None if max_pixels == "None" else int(float(max_pixels))
    if niceness:
        with contextlib.suppress(OSError):  # not allowed here: decoding still works
            os.nice(niceness)
    serve()
