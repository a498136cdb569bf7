"""Decoding in processes, for a GPU: Pillow's decode holds Python's GIL for much of its
work, so decode threads in one process cannot feed a GPU (BENCHMARKS.md, "What feeds a
GPU": 288 images/s in 16 threads against 1,094 in 16 processes on an H200's host).

    with ProcessDecoder(16) as decoder:
        decoded = decoder.decode(data, cfg, keep_source=False, defer=True, budget=budget)

The engine's decode threads stay; each sends one image to a process of its own and
waits (GIL released) for the pixels. The memory bound stays the engine's: the process
first estimates the decode's cost from the headers (the same estimate, refusals and
words as a decode thread's; Pillow's header parsers here were half of what each image
cost the engine's own process), and that cost is held in the caller's ``DecodeBudget``
here before the process decodes anything, as a decode thread holds it; a process
decodes one image at a time and hands its heap back to the system after a large one.

Each process is a Python running ``main`` here, talking over its stdin and
stdout (length-prefixed pickles, between this package's own processes only): no fork of
a process whose torch threads may hold locks, no re-import of the caller's main module,
and a process whose parent dies (kill -9) reads the end of its input and exits.

A process that dies while reading the headers or decoding (a crash in an image library on hostile bytes, the
kernel's OOM killer) is replaced, and the image, the only one it held, is decoded once
more in a new one; if that one dies too the image is unreadable, said so. In a decode
thread the same crash would have ended the whole bot.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import math
import mmap
import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import threading
from typing import Any

import numpy as np

from classifier.budget import (
    TRIM_ABOVE,
    DecodeBudget,
    LaterFrameRefused,
    estimate,
    estimate_plan,
    give_memory_back,
    later_frame_refused,
    metadata_hold,
)
from classifier.model import ModelError
from classifier.preprocess import Decoded, Deferred, PreprocessConfig, Unreadable, decode_image

log = logging.getLogger(__name__)

TRIES = 2  # a second process dying on the same image makes it unreadable
DIED = (
    "the decoding process died while decoding it, twice (a crash in the image library, "
    "or the kernel's memory limit): not classified"
)
# The longest one image's header reading or decoding may take in a process: the worst
# images the budget lets through (64 megapixels, 256 megapixels of GIF frames walked) take
# seconds. A decoder in an endless loop on hostile bytes is stopped there and replaced,
# where it would hold its decode thread and its decode budget for ever (and the engine's
# close would wait for it).
DECODE_TIMEOUT = 120.0
STUCK = (
    "decoding it did not finish within {timeout:g} s, twice (an image library stuck on "
    "hostile bytes?): the decoding process was stopped; not classified"
)
_LENGTH = struct.Struct("<Q")
# the memory each process hands its pixels over in: a 1,600 px photo deferred for a GPU
# is 5.8 MB; a larger answer grows it for that image, then it shrinks back
SHARED_SIZE = 8 << 20
# a process's start (Python, numpy and Pillow imported) and one tiny decode
CHECK_TIMEOUT = 120.0


class DecoderUnavailable(ModelError):
    """The decoding processes cannot decode: they do not start, or a new one dies on a
    tiny image. Not the image's fault: at start the command stops with this message; later
    the image is skipped (the bot records ``classifier_unavailable`` and tries it again)."""


class DecodeError(Exception):
    """An unexpected error in a decoding process (a decoder bug); the engine records the
    image unreadable with these words, as it does for the same error in a thread."""


class _Died(Exception):
    """The process answered nothing: it died."""


# In a process started with a device for the reference's views (``view_device``): the
# device, and whether making them there failed once (then the engine makes them, as
# without one). Set by ``main``.
_VIEWS: dict[str, Any] = {"device": None, "failed": False}


def _refused(exc: Unreadable) -> tuple[str, str]:
    """An ``Unreadable`` as a process answers it: ``("unreadable", words)``, or
    ``("later_frame", words)`` when it refused a frame past the first
    (``budget.LaterFrameRefused``: the first frame alone may be read)."""
    return ("later_frame" if later_frame_refused(exc) else "unreadable", exc.reason)


def _unreadable(kind: str, words: str) -> Unreadable:
    """A process's ``_refused`` answer as the ``Unreadable`` a decode thread raises."""
    refused = Unreadable(words)
    if kind == "later_frame":
        refused.__cause__ = LaterFrameRefused()
    return refused


def _decode(
    data: bytes, cfg: PreprocessConfig, keep_source: bool, defer: bool, cost: int
) -> Decoded | tuple[str, str]:
    """In a process: the decode, or ``("unreadable" | "later_frame" | "memory" | "error",
    words)``."""
    try:
        decoded = decode_image(data, cfg, keep_source=keep_source, defer=defer)
        if decoded.deferred is not None and _VIEWS["device"] and not _VIEWS["failed"]:
            return _views_here(decoded.deferred, keep_source) or decoded
        return decoded
    except Unreadable as exc:
        return _refused(exc)
    except MemoryError as exc:  # the machine was short, not the file broken
        return ("memory", f"out of memory decoding it: {exc}")
    except Exception as exc:  # a decoder bug on hostile bytes
        return ("error", f"{type(exc).__name__}: {exc}")
    finally:
        if cost >= TRIM_ABOVE:
            give_memory_back()  # a large decode's heap, before the next image


def _views_here(deferred: Deferred, keep_source: bool) -> Decoded | None:
    """In a process with a view device: the reference's view (and its 512 px image when
    ``keep_source``) made there from the deferred pixels (``classifier.resample``, bit
    for bit Pillow's), so that only they, ~150 KB, go back to the engine and its own
    process sends no tensor operation for them. None when the device cannot (no CUDA
    here, its memory full): the deferred pixels go back and the engine makes them. A
    device that fails once is not tried again by this process (said once, on stderr)."""
    try:
        from classifier.resample import as_tensor, reference_images

        pixels = as_tensor(deferred.pixels).to(_VIEWS["device"])
        region, thumbnail = reference_images(pixels, deferred.steps)
        source = thumbnail.contiguous().cpu().numpy() if keep_source else None
        return Decoded([region.cpu().numpy()], source)
    except Exception as exc:
        _VIEWS["failed"] = True
        print(
            f"modbot decoding process {os.getpid()}: cannot make the reference's views on "
            f"{_VIEWS['device']} ({type(exc).__name__}: {exc}); the engine makes them",
            file=sys.stderr,
            flush=True,
        )
        return None


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


class _Pixels:
    """Memory both processes map, for the decoded pixels (a memfd: no file anywhere,
    freed with its last descriptor): written once by the decoding process, copied once
    by the engine's, where a pipe would copy them four times, twice holding the GIL (a
    1,600 px photo deferred for a GPU is 5.8 MB of pixels)."""

    def __init__(self, fd: int):
        self.fd = fd
        self._map: mmap.mmap | None = None

    def _mapped(self) -> mmap.mmap:
        size = os.fstat(self.fd).st_size  # either side may have resized it since
        if self._map is None or len(self._map) != size:
            if self._map is not None:
                self._map.close()
            self._map = mmap.mmap(self.fd, size)
        return self._map

    def put(self, arrays: list[np.ndarray]) -> list[tuple[int, tuple, str]]:
        """In the decoding process: the arrays written, and where."""
        total = sum(a.nbytes for a in arrays)
        if total > os.fstat(self.fd).st_size:
            os.ftruncate(self.fd, total)
        shared, placed, offset = self._mapped(), [], 0
        for a in arrays:
            flat = np.ascontiguousarray(a).reshape(-1).view(np.uint8)
            np.frombuffer(shared, np.uint8, flat.size, offset)[:] = flat
            placed.append((offset, a.shape, a.dtype.str))
            offset += a.nbytes
        return placed

    def take(self, placed: list[tuple[int, tuple, str]], pin_last: bool = False) -> list[Any]:
        """In the engine's process: copies of the arrays (the last one into page-locked
        memory if ``pin_last``: a torch tensor then); then memory grown past the usual
        size for a large image is handed back (nothing outside the decode budget stays)."""
        shared = self._mapped()
        out: list[Any] = []
        for k, (offset, shape, kind) in enumerate(placed):
            view = np.frombuffer(shared, np.dtype(kind), math.prod(shape), offset).reshape(shape)
            pinned = _pinned_empty(shape, view.dtype) if pin_last and k == len(placed) - 1 else None
            if pinned is None:
                out.append(view.copy())
            else:
                # straight into the memory the engine copies to the GPU from: one copy of
                # the pixels in this process instead of two (~0.5 ms an image)
                np.copyto(pinned.numpy(), view)
                out.append(pinned)
        if len(shared) > SHARED_SIZE:
            os.ftruncate(self.fd, SHARED_SIZE)
        return out

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
        os.close(self.fd)


def _pinned_empty(shape: tuple, dtype: np.dtype) -> Any:
    """An empty page-locked torch tensor, or None (not uint8, no CUDA, or none left:
    a plain copy is slower to send to the GPU, not wrong)."""
    if dtype != np.uint8:
        return None
    try:
        import torch

        return torch.empty(shape, dtype=torch.uint8, pin_memory=True)
    except Exception as exc:  # e.g. a CPU build of torch, page-locked memory exhausted
        log.debug("no page-locked memory for a decoded image: %r", exc)
        return None


def _send(result: Any, pixels: _Pixels | None) -> Any:
    """In the decoding process: a decode's pixels put in the shared memory."""
    if pixels is None or not isinstance(result, Decoded):
        return result
    deferred = result.deferred
    arrays = [*result.regions]
    arrays += [result.source] if result.source is not None else []
    arrays += [deferred.pixels] if deferred is not None else []
    if not arrays or not sum(a.nbytes for a in arrays):
        return result
    steps = deferred.steps if deferred is not None else None
    return ("placed", pixels.put(arrays), len(result.regions), result.source is not None, steps)


def _received(answer: Any, pixels: _Pixels | None, pin: bool = False) -> Any:
    """In the engine's process: a decode whose pixels were put in the shared memory (the
    deferred pixels page-locked if ``pin``: they go to a GPU)."""
    if not (isinstance(answer, tuple) and answer[0] == "placed"):
        return answer
    assert pixels is not None
    _, placed, regions, has_source, steps = answer
    arrays = pixels.take(placed, pin_last=pin and steps is not None)
    source = arrays[regions] if has_source else None
    deferred = Deferred(arrays[-1], steps) if steps is not None else None
    return Decoded(arrays[:regions], source, deferred)


def _estimate(data: bytes, cfg: PreprocessConfig) -> tuple[Any, ...]:
    """In a process: ``("cost", bytes, several)``: what decoding ``data`` will cost at
    most, from its headers (``classifier.budget.estimate``), and whether it goes through
    more than one frame; or ``("unreadable" | "later_frame" | "memory" | "error",
    words)``."""
    try:
        planned = estimate_plan(data, cfg)
        return ("cost", planned.cost, len(planned.frames) > 1)
    except Unreadable as exc:
        return _refused(exc)
    except MemoryError as exc:
        return ("memory", f"out of memory reading its headers: {exc}")
    except Exception as exc:  # a header parser's bug on hostile bytes
        return ("error", f"{type(exc).__name__}: {exc}")


def serve(work: Any = _decode, pixels_fd: int | None = None) -> None:
    """A decoding process's loop: requests on stdin, answers on stdout (the pixels in
    ``pixels_fd``'s memory when given), until stdin ends (the parent closed it, or died).
    A request is ``work``'s arguments (the file first), or ``("estimate", file, cfg)``
    then ``("kept", *rest)``: the cost of the file, then ``work`` on the file kept."""
    requests = sys.stdin.buffer
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print cannot break the stream
    pixels = _Pixels(pixels_fd) if pixels_fd is not None else None
    kept: bytes | None = None
    while (message := _read(requests)) is not None:
        request = pickle.loads(message)
        if request[0] == "estimate":
            kept = request[1]
            _write(answers, _estimate(kept, request[2]))
            continue
        if request[0] == "kept":
            request, kept = (kept, *request[1:]), None
        _write(answers, _send(work(*request), pixels))


def _hold(budget: DecodeBudget | None, cost: int, several: bool) -> Any:
    """``cost`` held in ``budget`` (a context manager). Refused as more than the whole
    budget: ``Unreadable``, said a refusal for a later frame when the decode goes through
    several (the first frame alone may fit), as a decode thread's ``Decoding`` says it."""
    if budget is None:
        return contextlib.nullcontext()
    try:
        return budget.reserve(cost)
    except Unreadable as exc:
        if several:
            raise Unreadable(exc.reason) from LaterFrameRefused()
        raise


def _environment() -> dict[str, str]:
    """This one, with this package importable (a script may have put it on sys.path
    only)."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    return env


_ENV = _environment()


def _shared_memory() -> int | None:
    """A memfd of SHARED_SIZE for one process's pixels; None where there is none (not
    Linux): the pixels then come through the pipe."""
    try:
        fd = os.memfd_create("modbot-decoded-pixels", os.MFD_CLOEXEC)
    except (AttributeError, OSError):
        return None
    os.ftruncate(fd, SHARED_SIZE)
    return fd


@functools.cache
def _tiny_png() -> bytes:
    """An 8x8 picture: a process that cannot decode it cannot decode anything."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (128, 64, 32)).save(out, "PNG")
    return out.getvalue()


_TINY = PreprocessConfig(size=8)


def _why(process: _Process) -> str:
    """Why ``process`` gave no answer."""
    if process.timed_out:
        return f"no answer within {process.timed_out:g} s"
    try:
        code = process.popen.wait(timeout=5)  # its output closed: it is exiting
    except subprocess.TimeoutExpired:
        return "it closed its output"
    return f"exit status {code}: its own words, if any, are in the log above"


class _Process:
    def __init__(self, command: Any, env: dict[str, str], shared: bool):
        self.timed_out = 0.0  # killed for not answering within this many seconds
        fd = _shared_memory() if shared else None
        self.pixels = _Pixels(fd) if fd is not None else None
        try:
            self.popen = subprocess.Popen(
                command(fd),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                close_fds=True,
                pass_fds=(fd,) if fd is not None else (),
                env=env,
            )
        except BaseException:
            # a start that fails (fork at the process limit) is tried again at each
            # image: its memfd left open would lose a descriptor each time
            if self.pixels is not None:
                self.pixels.close()
            raise

    def call(self, request: tuple, timeout: float | None = None, pin: bool = False) -> Any:
        """The answer to ``request``; ``_Died`` if none comes (within ``timeout``: then
        the process is killed)."""
        assert self.popen.stdout is not None
        try:
            _write(self.popen.stdin, request)
            if timeout is not None and not select.select([self.popen.stdout], [], [], timeout)[0]:
                self.timed_out = timeout
                self.popen.kill()
                raise _Died
            answer = _read(self.popen.stdout)
        except (BrokenPipeError, ValueError, OSError):
            answer = None
        if answer is None:
            raise _Died
        return _received(pickle.loads(answer), self.pixels, pin)

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
        if self.pixels is not None:
            self.pixels.close()


class ProcessDecoder:
    """``processes`` decoding processes, shared by any number of engines (a worker's
    concept sets) and threads: a caller waits for a free one. ``close()`` stops them."""

    def __init__(
        self,
        processes: int,
        *,
        niceness: int = 0,
        shared_memory: bool = True,
        view_device: str | None = None,
        estimate_here: bool = False,
        decode_timeout: float = DECODE_TIMEOUT,
    ) -> None:
        if processes < 1:
            raise ValueError("a process decoder needs at least one process")
        if not (math.isfinite(decode_timeout) and decode_timeout > 0):
            raise ValueError("decode_timeout must be a positive number of seconds")
        self.decode_timeout = decode_timeout
        from PIL import Image

        self.processes = processes
        self._niceness = niceness
        self._shared = shared_memory  # False: the pixels come through the pipe (benchmarks)
        # where each process makes the reference's views of the images it defers (its own
        # CUDA context on a GPU), or None: the deferred pixels go back to the engine
        self.view_device = view_device
        # where a file's decode cost is estimated from its headers: in the process that
        # decodes it (Pillow's header parsers, Python holding the GIL, were half of what
        # each image cost the engine's own process: BENCHMARKS.md), or here (benchmarks)
        self._estimate_here = estimate_here
        self._max_pixels = Image.MAX_IMAGE_PIXELS  # the caller's Pillow limit, in each
        self.restarts = 0  # processes replaced after one died
        self._lock = threading.Lock()
        self._closed = False
        self._all: list[_Process] = []
        # None: a wake-up for a caller waiting on a process that could not be started
        self._idle: queue.LifoQueue[_Process | None] = queue.LifoQueue()
        # processes that died and could not be started again yet (fork failed)
        self._missing = 0
        try:
            try:
                started = [self._start() for _ in range(processes)]  # they import in parallel
            except OSError as exc:
                raise DecoderUnavailable(
                    f"the decoding processes cannot be started ({exc}); decode in threads "
                    "instead: classifier.decode_processes: 0 in rules.yaml (modbot worker "
                    "--decode-processes 0)"
                ) from exc
            for process in started:
                if not self._works(process):
                    raise DecoderUnavailable(
                        f"the decoding processes do not start or cannot decode ({_why(process)}); "
                        "decode in threads instead: classifier.decode_processes: 0 in "
                        "rules.yaml (modbot worker --decode-processes 0)"
                    )
                self._idle.put(process)
        except BaseException:
            self.close()
            raise

    def _command(self, pixels_fd: int | None) -> list[str]:
        """How a decoding process is started (a test's may crash on purpose)."""
        start = "import sys; from classifier.decode_processes import main; main(sys.argv[1:])"
        fd = str(pixels_fd) if pixels_fd is not None else "-"
        views = self.view_device or "-"
        # -P: no working directory first on the import path (`-c` puts it there), so a
        # `classifier` folder or a module named like an import where modbot runs is not
        # imported instead of what modbot itself imports
        return [
            *(sys.executable, "-P", "-c", start, str(self._niceness), repr(self._max_pixels)),
            *(fd, views),
        ]

    def _start(self) -> _Process:
        process = _Process(self._command, _ENV, self._shared)
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
        pin: bool = False,
    ) -> Decoded:
        """``decode_image(data, cfg, keep_source, budget, defer)``, in a process. Raises
        ``Unreadable`` as it does, and ``DecodeError`` for an unexpected error. ``pin``:
        deferred pixels come back page-locked (a torch tensor) where CUDA allows, for
        an engine on a GPU.

        What the decode will cost is held in ``budget`` before it starts, as a decode
        thread's ``Decoding`` holds it: estimated from the headers by the process (which
        has the file then, and decodes nothing before the cost is held here), the
        metadata's copies its open makes held here meanwhile. A process that gives no
        answer within ``decode_timeout`` is stopped, and counts as one that died."""
        stuck = 0
        for _ in range(TRIES):
            process = self._take()
            try:
                result = self._decode_in(process, data, cfg, keep_source, defer, budget, pin)
            except _Died:
                stuck += bool(process.timed_out)
                self._replace(process)
                continue
            except BaseException:
                self._idle.put(process)
                raise
            self._idle.put(process)
            if isinstance(result, tuple):
                kind, words = result
                if kind in ("unreadable", "later_frame"):
                    raise _unreadable(kind, words)
                if kind == "memory":
                    raise MemoryError(words)  # not the image's: tried again (the engine)
                raise DecodeError(words)
            return result
        if self._healthy():
            raise Unreadable(STUCK.format(timeout=self.decode_timeout) if stuck else DIED)
        raise DecoderUnavailable(
            "the decoding processes die on a tiny image too: not this image's fault "
            "(the memory limit? see the log); it is skipped. Decode in threads "
            "instead: classifier.decode_processes: 0"
        )

    def _decode_in(
        self,
        process: _Process,
        data: bytes,
        cfg: PreprocessConfig,
        keep_source: bool,
        defer: bool,
        budget: DecodeBudget | None,
        pin: bool,
    ) -> Any:
        """One try in ``process``: the decode, or ``(kind, words)``; ``_Died``."""
        if self._estimate_here:  # (benchmarks: a decode over the budget is said as such)
            cost = estimate(data, cfg, budget)
            with _hold(budget, cost, several=False):
                return process.call(
                    (data, cfg, keep_source, defer, cost), self.decode_timeout, pin=pin
                )
        metadata = metadata_hold(data) if budget is not None else 0
        with (
            budget.reserve(metadata, "reading its metadata")
            if budget and metadata
            else (contextlib.nullcontext())
        ):
            answer = process.call(("estimate", data, cfg), self.decode_timeout)
        if answer[0] != "cost":
            return answer  # ("unreadable" | "memory" | "error", words): nothing decoded
        _, cost, several = answer
        with _hold(budget, cost, several):
            return process.call(
                ("kept", cfg, keep_source, defer, cost), self.decode_timeout, pin=pin
            )

    def _works(self, process: _Process) -> bool:
        """Whether ``process`` decodes a tiny image within ``CHECK_TIMEOUT`` (its start
        included)."""
        try:
            answer = process.call((_tiny_png(), _TINY, False, False, 0), timeout=CHECK_TIMEOUT)
        except _Died:
            return False
        return isinstance(answer, Decoded)

    def _healthy(self) -> bool:
        """After an image killed two processes: whether a fresh one decodes a tiny image
        (then that image is the cause), or the processes cannot decode at all."""
        process = self._take()
        if self._works(process):
            self._idle.put(process)
            return True
        self._replace(process)
        return False

    def _take(self) -> _Process:
        while True:
            if self._closed:
                raise RuntimeError("the process decoder is closed")
            self._start_missing()
            process = self._idle.get()
            if process is None:
                continue  # a wake-up (see _replace): a process is missing; start it again
            if process.popen.poll() is not None:
                # died while idle (kill -9, the OOM killer): no image's fault, and none
                # of an image's tries is spent on it
                self._replace(process, idle=True)
                continue
            return process

    def _start_missing(self) -> None:
        """Start a process that died and could not be started again (fork failed: the
        process limit, memory), now that the machine may allow it. If it still cannot
        be and no process is left, ``DecoderUnavailable``: waiting for one would never
        end, and the image is not at fault."""
        with self._lock:
            if not self._missing:
                return
            self._missing -= 1
        try:
            process = self._start()
        except OSError as exc:
            with self._lock:
                self._missing += 1
                alone = not self._all
            if alone:
                raise DecoderUnavailable(
                    f"no decoding process is running and none can be started ({exc}): "
                    "the image is skipped, not this image's fault. If this lasts, decode "
                    "in threads instead: classifier.decode_processes: 0"
                ) from exc
            return  # the processes still running serve meanwhile
        self._idle.put(process)

    def _replace(self, dead: _Process, idle: bool = False) -> None:
        code = dead.popen.poll()
        if dead.timed_out:
            log.warning(
                "a decoding process gave no answer within %g s (an image library stuck on "
                "hostile bytes?): stopped, starting a new one; its image is decoded once more",
                dead.timed_out,
            )
        elif idle:
            log.warning(
                "a decoding process died while waiting for an image (exit status %s: "
                "killed, or the memory limit): starting a new one",
                code,
            )
        else:
            log.warning(
                "a decoding process died (exit status %s: a crash on hostile bytes, or the "
                "memory limit): starting a new one; its image is decoded once more",
                code,
            )
        dead.stop()
        with self._lock:
            self._all.remove(dead)
            self.restarts += 1
        if self._closed:
            return
        try:
            self._idle.put(self._start())
        except OSError as exc:
            # the pool must not shrink for good (with none left every decode would wait
            # forever): started again at the next image (_take), which is skipped meanwhile
            log.error("a new decoding process cannot be started: %s", exc)
            with self._lock:
                self._missing += 1
            self._idle.put(None)  # a caller waiting for a process tries to start it

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
    """A decoding process: ``NICENESS MAX_IMAGE_PIXELS PIXELS_FD [VIEW_DEVICE]`` (the
    parent's Pillow limit; the memfd for the pixels, or ``-``; the device to make the
    reference's views on, or ``-``: torch is imported only with one)."""
    from PIL import Image

    niceness, max_pixels, fd = int(argv[0]), argv[1], argv[2]
    if len(argv) > 3 and argv[3] != "-":
        _VIEWS["device"] = argv[3]
    Image.MAX_IMAGE_PIXELS = None if max_pixels == "None" else int(float(max_pixels))
    if niceness:
        with contextlib.suppress(OSError):  # not allowed here: decoding still works
            os.nice(niceness)
    serve(pixels_fd=None if fd == "-" else int(fd))
