"""The batched classifier: concurrent callers submit image bytes, worker threads decode
them while one inference thread runs the model on batches.

    caller ── slot (bounded: backpressure) ──▶ decode pool (threads) ──▶ ready queue
        ──▶ inference thread: batch by max size / max wait ──▶ one image encode per region
        ──▶ similarities to every prompt ──▶ decision ──▶ Verdict

An image that cannot be decoded gets an ``unreadable`` verdict; it never fails a batch.
A file refused for a frame past its first (a bomb in a later frame) has its first frame,
the one the reference reads, classified alone: a label it fires stands (the verdict's
``unreadable`` still saying why the rest was not read); with none it stays unreadable.
When the model fails on a batch, each of its images is tried alone: only an image that
fails by itself gets the error (its caller's future raises it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import os
import queue
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from classifier.budget import (
    DEFAULT_DECODE_MEMORY,
    DecodeBudget,
    Reservation,
    later_frame_refused,
)
from classifier.concepts import ConceptSet
from classifier.decision import Danbooru, DecisionPlan, combine, round4
from classifier.decode_processes import DecodeError, DecoderUnavailable, ProcessDecoder
from classifier.model import LoadedModel
from classifier.preprocess import (
    Decoded,
    Deferred,
    PreprocessConfig,
    Unreadable,
    decode_image,
)
from classifier.resample import as_tensor, reference_images, self_check
from classifier.text_cache import text_embeddings
from classifier.verdict import Verdict

if TYPE_CHECKING:
    from classifier.deepdanbooru import LoadedDanbooru

log = logging.getLogger(__name__)

# CPU only: decode threads run at this niceness so they do not preempt the model's
# OpenMP threads (a preempted one stalls the whole parallel region), yet are not
# starved by other processes (10 left batches half-empty on a busy machine).
DECODE_NICENESS = 5
# the longest a batch waits for images still being decoded (`modbot worker --max-wait-ms`)
MAX_WAIT_MS = 60_000
# decode threads making reference views on the device at once (Engine(resample_threads=))
RESAMPLE_THREADS = 4
# what a verdict on the first frame of a file refused for a later one adds to the refusal
FIRST_FRAME_ONLY = (
    "only its first frame (the one the reference checks) was read: the labels and scores "
    "are that frame's"
)


class EngineClosed(RuntimeError):
    """``classify`` was called after ``close()``."""


@dataclass
class _Job:
    future: Future
    sha256: str
    regions: list[Any]  # uint8 arrays, or tensors on the device (classifier.resample)
    held: Reservation  # the regions' (and source's) bytes in the decode budget, until inferred
    source: Any = None  # the reference's 512 px image (array or device tensor), for DeepDanbooru
    deferred: Deferred | None = None  # the reference's view, to be made on the device
    # why the file was refused, when only its first frame was decoded (a later frame's bomb)
    first_frame_only: str | None = None

    @property
    def count(self) -> int:
        """Regions the model will see for this image."""
        return len(self.regions) + (self.deferred is not None)


class _Slots:
    """A counting semaphore both threads and asyncio tasks can wait on."""

    def __init__(self, n: int):
        self._free = n
        self._cond = threading.Condition()
        self._async_waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = deque()

    def acquire(self) -> None:
        with self._cond:
            while self._free == 0:
                self._cond.wait()
            self._free -= 1

    async def acquire_async(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                if self._free > 0:
                    self._free -= 1
                    return
                waiter = loop.create_future()
                self._async_waiters.append((loop, waiter))
            await waiter

    def release(self) -> None:
        with self._cond:
            self._free += 1
            self._cond.notify()
            waiters, self._async_waiters = self._async_waiters, deque()
        # wake every async waiter: one may have been cancelled; the others re-check
        for loop, waiter in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed
                loop.call_soon_threadsafe(_wake, waiter)


def _wake(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _let_go(exc: BaseException) -> None:
    """A failed batch's locals (its input, a network's activations: on a GPU, what ran
    it out of memory) let go of: the error's traceback holds its frames, while the batch
    is tried again an image at a time, or while a caller keeps the error it was given.
    The traceback itself stays (its lines still print); frames still running are kept."""
    traceback.clear_frames(exc.__traceback__)


def _empty_device_cache() -> None:
    """The memory CUDA's allocator keeps cached handed back, after a batch that failed
    (out of memory, say): its blocks may be too fragmented for the next. A no-op where
    CUDA was never used."""
    import torch

    torch.cuda.empty_cache()


def _array(pixels: Any) -> np.ndarray | None:
    """A region or source as a numpy array (one made on the device comes back)."""
    if pixels is None or isinstance(pixels, np.ndarray):
        return pixels
    return np.ascontiguousarray(pixels.cpu().numpy())


def _pinned(pixels: Any) -> Any:
    """Page-locked, for an asynchronous copy to the GPU; as it is if that fails (a copy
    from pageable memory is slower, not wrong) or it is already (a decoding process's)."""
    if not isinstance(pixels, np.ndarray):
        return pixels
    try:
        return as_tensor(pixels).pin_memory()
    except Exception as exc:  # e.g. page-locked memory exhausted
        log.debug("could not page-lock a decoded image: %r", exc)
        return pixels


def _resample_checks(device: Any) -> bool:
    """Whether ``classifier.resample`` makes the reference's view bit for bit as this
    Pillow does, on ``device``; if not, it is not used (and says why)."""
    problem = self_check(device)
    if problem:
        log.warning("the reference's resizes stay in the decode threads: %s", problem)
    else:
        log.info("the reference's resizes run on %s (checked: Pillow's pixels)", device)
    return not problem


def yield_to_inference() -> None:
    """The calling thread runs at ``DECODE_NICENESS`` from now on: on a CPU, a thread
    that feeds the model (decoding, downloading) must not preempt its OpenMP threads."""
    with contextlib.suppress(AttributeError, OSError):
        # Linux: the niceness of one thread (its native id) only
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), DECODE_NICENESS)


def concept_version(
    concepts: ConceptSet,
    model_fingerprint: str,
    danbooru_fingerprint: str | None,
    preprocess: PreprocessConfig,
    decode_memory: int,
    first_frame_of_refused: bool = True,
) -> str:
    """What verdicts are cached and recorded under: the concepts (prompts, thresholds),
    the exact weights of both models (None: the anime pass is off), how images are read,
    and the decode budget (it decides which images are too costly to read, so raising it
    reads again what was refused). An ``Engine`` is built with it; ``modbot report``
    computes it without loading a model (``describe_model``). ``first_frame_of_refused``
    (``Engine``'s): a file refused for a later frame is judged by its first, so its
    cached ``unreadable`` verdict from before must not stand."""
    anime_pass = danbooru_fingerprint or "deepdanbooru-off"
    reading = f"{preprocess.version()}:mem{decode_memory}"
    if first_frame_of_refused:
        reading += ":first-frame-of-refused"
    return concepts.version(f"{model_fingerprint}+{anime_pass}", reading)


def _default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def default_decode_processes(device_type: str) -> int:
    """``classifier.decode_processes: auto``: on a GPU, one decoding process per core
    (up to 32), since decode threads in one process hold the GIL and cannot feed one
    (BENCHMARKS.md); on a CPU none: the model's own threads use every core there."""
    return min(32, _default_threads()) if device_type == "cuda" else 0


class Engine:
    """Batched verdicts for image bytes. Thread-safe; ``classify`` is async."""

    def __init__(
        self,
        loaded: LoadedModel,
        concepts: ConceptSet | None = None,
        *,
        max_batch: int = 32,
        max_wait_ms: float = 10,
        max_queue: int = 256,
        decode_workers: int | None = None,
        text_cache_dir: str | os.PathLike | None = None,
        preprocess: PreprocessConfig | None = None,
        decode_memory: int = DEFAULT_DECODE_MEMORY,
        danbooru: LoadedDanbooru | None = None,
        resample_on_device: bool | None = None,
        decode_budget: DecodeBudget | None = None,
        decode_processes: int | ProcessDecoder | None = None,
        resample_threads: int = RESAMPLE_THREADS,
        views_in_processes: bool = False,
        first_frame_of_refused: bool = True,
    ) -> None:
        import torch

        if max_batch < 1 or max_queue < 1:
            raise ValueError("max_batch and max_queue must be >= 1")
        # inf, nan or a huge wait would kill the inference thread at its first wait (a
        # timeout past time_t): every classify would then hang
        if not (math.isfinite(max_wait_ms) and 0 <= max_wait_ms <= MAX_WAIT_MS):
            raise ValueError(f"max_wait_ms must be a number from 0 to {MAX_WAIT_MS}")
        self.loaded = loaded
        self.concepts = concepts or ConceptSet.builtin()
        self.preprocess = preprocess or PreprocessConfig(size=loaded.image_size)
        if self.preprocess.size != loaded.image_size:
            raise ValueError(
                f"preprocess size {self.preprocess.size} != model input size {loaded.image_size}"
            )
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        # A file refused for a frame past its first (a 30000x30000 frame in a GIF: only a
        # linked file, pict-rs checks what it stores) is read again as its first frame
        # alone, the frame the reference checks, so that the reference's verdict is still
        # one of ours. Within the same caps and budget: only that frame is planned and held.
        self.first_frame_of_refused = first_frame_of_refused
        self._first_frame = replace(self.preprocess, max_frames=1)
        # Every decode holds its estimated memory here, whatever the number of threads;
        # engines given one budget (a worker's concept sets) share it: decode_memory unused.
        self.decode_budget = (
            decode_budget if decode_budget is not None else DecodeBudget(decode_memory)
        )
        # classifier.deepdanbooru.LoadedDanbooru, or None: the anime second pass is off
        self.danbooru = danbooru
        self.concept_version = concept_version(
            self.concepts,
            loaded.fingerprint,
            danbooru.fingerprint if danbooru is not None else None,
            self.preprocess,
            self.decode_budget.total,
            first_frame_of_refused,
        )
        if loaded.device.type == "cpu":
            torch.set_num_threads(_default_threads())
        calibrated = self.concepts.calibrated_for
        if calibrated and not loaded.random_weights and loaded.identity != calibrated:
            log.warning(
                "the thresholds of %s are calibrated for %s; %s's verdicts are not calibrated",
                self.concepts.source,
                calibrated,
                loaded.identity,
            )
        self._plan = DecisionPlan(self.concepts)
        self._text = text_embeddings(
            loaded, self.concepts.prompts, self.concept_version, text_cache_dir
        )
        # The reference's resizes on the model's device (classifier.resample): by default
        # on a GPU, once a check on a few images finds them bit for bit Pillow's.
        if resample_on_device is None:
            resample_on_device = loaded.device.type == "cuda" and _resample_checks(loaded.device)
        self.resample_on_device = resample_on_device
        self._slots = _Slots(max_queue)
        self._ready: queue.Queue = queue.Queue()
        # decoding must keep a GPU fed: one thread per core (a 1,600 px photo costs ~30 ms
        # of a core here, most of it the reference's 512 px thumbnail, which a GPU makes
        # itself: resample_on_device, BENCHMARKS.md)
        # Decoding in processes (a GPU's appetite: classifier.decode_processes): each
        # decode thread waits on one process. A decoder given is shared (a worker's
        # concept sets) and closed by its owner.
        if decode_processes is None:
            decode_processes = default_decode_processes(loaded.device.type)
        self._own_decoder = isinstance(decode_processes, int) and decode_processes > 0
        if isinstance(decode_processes, ProcessDecoder):
            self.decoder: ProcessDecoder | None = decode_processes
        elif decode_processes > 0:
            # views_in_processes: each decoding process makes the reference's views of
            # the images it defers on the model's device itself (a CUDA context each), and
            # only they come back: this process then sends no tensor operation and copies
            # no full-size pixels for them. Off by default until a GPU's figures say it
            # pays (BENCHMARKS.md, "Decoding in processes").
            self.decoder = ProcessDecoder(
                decode_processes,
                niceness=DECODE_NICENESS if self.on_cpu else 0,
                view_device=str(loaded.device)
                if views_in_processes and self.resample_on_device
                else None,
            )
        elif decode_processes < 0:
            raise ValueError("decode_processes must be >= 0")
        else:
            self.decoder = None
        if self.decoder is not None and not decode_workers:
            workers = self.decoder.processes
        else:
            workers = decode_workers or min(32, _default_threads())
        self.decode_workers = workers
        # decode threads making reference views on the device at once: each holds its
        # image's pixels there and up to 128 MB of gathered taps (classifier.resample)
        # (0: the inference thread makes them all, as before fba85b8: benchmarks compare)
        self.resample_threads = min(max(resample_threads, 0), workers)
        self._resample_slots = threading.BoundedSemaphore(max(self.resample_threads, 1))
        # On CPU the model's OpenMP threads use every core; a decode thread that preempts
        # one of them stalls the whole parallel region, so decoding yields to inference.
        initializer = yield_to_inference if self.on_cpu else None
        self._pool = ThreadPoolExecutor(
            workers, thread_name_prefix="modbot-decode", initializer=initializer
        )
        self._closed = False
        self._decoding = 0  # images submitted and not yet decoded
        self.stats = {
            "images": 0,
            "unreadable": 0,
            "batches": 0,
            "regions": 0,
            "deepdanbooru": 0,
            "resampled_on_device": 0,  # reference views made by classifier.resample
            "resampled_by_decode_threads": 0,  # of which in a decode thread (the rest: inference)
            # time the model spent on batches: against wall time, whether it was kept busy
            "inference_us": 0,
        }  # since start
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="modbot-inference", daemon=True)
        self._thread.start()

    # -- public API ---------------------------------------------------------------------

    async def classify(self, data: bytes) -> Verdict:
        """The verdict for one image's bytes. Waits (without blocking the event loop)
        while ``max_queue`` images are already in flight."""
        await self._slots.acquire_async()
        return await asyncio.wrap_future(self._submit(data))

    async def ready(self) -> str:
        """The concept version (known from the start: the model is loaded here). A remote
        engine's is learnt from its first worker; callers of either await this."""
        return self.concept_version

    @property
    def on_cpu(self) -> bool:
        """The model runs on the CPU: the threads feeding it yield to its threads
        (``yield_to_inference``)."""
        return self.loaded.device.type == "cpu"

    @property
    def random_weights(self) -> bool:
        """The model has random weights (tests, demos): its verdicts mean nothing."""
        return self.loaded.random_weights

    def submit(self, data: bytes) -> Future:
        """Thread API: blocks while the queue is full, returns a Future of the Verdict."""
        self._slots.acquire()
        return self._submit(data)

    def classify_many(self, items: Iterable[bytes]) -> list[Verdict]:
        """Verdicts for many images, in order (sync convenience)."""
        futures = [self.submit(data) for data in items]
        return [f.result() for f in futures]

    def close(self) -> None:
        """Finish the images already submitted, then stop the threads."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._pool.shutdown(wait=True)
        self._ready.put(None)
        self._thread.join()
        if self._own_decoder and self.decoder is not None:
            self.decoder.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- pipeline -----------------------------------------------------------------------

    def _submit(self, data: bytes) -> Future:
        future: Future = Future()
        with self._lock:
            if not self._closed:
                self._decoding += 1
                self._pool.submit(
                    self._decode, data if isinstance(data, bytes) else bytes(data), future
                )
                return future
        self._slots.release()
        future.set_exception(EngineClosed("the classifier engine is closed"))
        return future

    def _resolve(
        self, future: Future, result: Verdict | None = None, error: BaseException | None = None
    ) -> None:
        """Settle a caller's future (it may have been cancelled) and free its slot."""
        try:
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
        except InvalidStateError:
            pass  # the caller gave up waiting; the work is done anyway
        finally:
            self._slots.release()

    def _decode(self, data: bytes, future: Future) -> None:
        try:
            sha256 = hashlib.sha256(data).hexdigest()
            try:
                decoded, first_frame_only = self._decode_readable(data)
            except Unreadable as exc:
                self.stats["unreadable"] += 1
                self._resolve(future, self._unreadable(sha256, exc.reason))
                return
            except DecoderUnavailable as exc:  # not the image's fault: skipped, not unreadable
                log.error("image %s not decoded: %s", sha256[:12], exc)
                self._resolve(future, error=exc)
                return
            except MemoryError as exc:  # the machine was short, not the file broken: an
                # error (the bot skips it, classifier_unavailable, and looks again), never
                # a kept `unreadable` verdict a rule could act on
                log.error("image %s not decoded: out of memory (%s)", sha256[:12], exc)
                self._resolve(future, error=exc)
                return
            except DecodeError as exc:  # the same error, met in a decoding process
                log.warning("decoding image %s failed unexpectedly: %s", sha256[:12], exc)
                self._resolve(future, self._unreadable(sha256, f"could not decode: {exc}"))
                return
            except Exception as exc:  # a decoder bug on hostile bytes must not kill anything
                log.warning("decoding image %s failed unexpectedly: %r", sha256[:12], exc)
                self._resolve(
                    future,
                    self._unreadable(sha256, f"could not decode: {type(exc).__name__}: {exc}"),
                )
                return
            # the regions wait for the model: counted until inferred (never waits here)
            size = sum(r.nbytes for r in decoded.regions)
            size += decoded.source.nbytes if decoded.source is not None else 0
            deferred = decoded.deferred
            if deferred is not None:
                size += deferred.pixels.nbytes
                if self.loaded.device.type == "cuda" and not self.resample_threads:
                    # page-locked here, in parallel, so the inference thread's copy to the
                    # GPU is a DMA it does not wait for (a decode thread making the view
                    # itself copies it there at once: a page-locked copy first is one more)
                    deferred.pixels = _pinned(deferred.pixels)
            held = self.decode_budget.charge(size)
            job = _Job(future, sha256, decoded.regions, held, decoded.source, deferred)
            job.first_frame_only = first_frame_only
            if deferred is not None and self.resample_threads:
                self._resample_here(job)
            self._ready.put(job)
        finally:
            with self._lock:
                self._decoding -= 1

    def _decode_readable(self, data: bytes) -> tuple[Decoded, str | None]:
        """The decode, and None; or, for a file refused for a frame past its first, the
        decode of its first frame alone and why the file was refused. Raises the first
        refusal when that frame cannot be read either."""
        try:
            return self._decode_image(data), None
        except Unreadable as exc:
            if not (self.first_frame_of_refused and later_frame_refused(exc)):
                raise
            refused = exc.reason  # (not the error: its frames let go before the retry)
        try:
            return self._decode_image(data, self._first_frame), refused
        except Unreadable:
            raise Unreadable(refused) from None

    def _decode_image(self, data: bytes, cfg: PreprocessConfig | None = None) -> Decoded:
        cfg = cfg or self.preprocess
        options = dict(keep_source=self.danbooru is not None, defer=self.resample_on_device)
        if self.decoder is not None:
            pin = self.loaded.device.type == "cuda"
            return self.decoder.decode(data, cfg, budget=self.decode_budget, pin=pin, **options)
        return decode_image(data, cfg, budget=self.decode_budget, **options)

    def _run(self) -> None:
        stop = False
        while not stop:
            job = self._ready.get()
            if job is None:
                break
            batch, regions = [job], job.count
            while regions < self.max_batch:
                try:
                    job = self._ready.get_nowait()
                except queue.Empty:
                    if not self._decoding:  # nothing else on its way: do not wait for nothing
                        break
                    # Images still being decoded: wait for the next one at most max_wait.
                    # A burst thus fills whole batches (on CPU a batch of 2 costs nearly
                    # what a batch of 8 does per image); a trickle waits at most
                    # max_batch x max_wait in all.
                    try:
                        job = self._ready.get(timeout=self.max_wait)
                    except queue.Empty:
                        break
                if job is None:
                    stop = True
                    break
                batch.append(job)
                regions += job.count
            self._infer(batch)

    def _infer(self, batch: list[_Job]) -> None:
        started = time.perf_counter_ns()
        try:
            self._infer_batch(batch)
        finally:
            self.stats["inference_us"] += (time.perf_counter_ns() - started) // 1000
            for job in batch:  # the decoded pixels are dropped: out of the decode budget
                job.held.release()

    def _infer_batch(self, jobs: list[_Job]) -> None:
        batch: list[_Job | None] = list(jobs)
        retry = False
        try:
            self._resample(jobs)
            sims = self._similarities([r for job in jobs for r in job.regions])
        except Exception as exc:  # e.g. CUDA out of memory
            _let_go(exc)
            if len(jobs) == 1:
                log.error("inference failed for image %s: %r", jobs[0].sha256[:12], exc)
                self._resolve(jobs[0].future, error=exc)
                return
            # one image (or the batch's size) may be the cause: each alone, so that
            # only an image that fails by itself gets the error
            log.warning(
                "inference failed for a batch of %d images (%r): trying each alone",
                len(jobs),
                exc,
            )
            retry = True
        if retry:  # out of the except: the failed batch's memory is let go first
            _empty_device_cache()
            for job in jobs:
                self._infer_batch([job])
            return
        self.stats["batches"] += 1
        self.stats["images"] += len(batch)
        self.stats["regions"] += sum(job.count for job in jobs)
        per_job, start = [], 0
        for job in jobs:
            per_job.append(sims[start : start + len(job.regions)])
            start += len(job.regions)
        anime = [any(self._plan.clip_anime(row) for row in rows) for rows in per_job]
        danbooru: dict[int, Danbooru] = {}
        if self.danbooru is not None and any(anime):
            # the reference's second pass: DeepDanbooru on the images CLIP calls anime,
            # batched by input size
            wanted = [k for k, a in enumerate(anime) if a and jobs[k].source is not None]
            danbooru, failed = self._danbooru([jobs[k] for k in wanted])
            danbooru = {wanted[i]: result for i, result in danbooru.items()}
            for i, error in failed.items():
                self._resolve(jobs[wanted[i]].future, error=error)
                batch[wanted[i]] = None
            self.stats["deepdanbooru"] += len(danbooru)
        for k, left in enumerate(batch):
            if left is None:
                continue
            job = left
            status = "ran" if k in danbooru else ("off" if anime[k] else "not_needed")
            try:
                verdict = self._verdict(job.sha256, per_job[k], danbooru.get(k), status)
                if job.first_frame_only is not None:
                    verdict = self._first_frame_verdict(verdict, job.first_frame_only)
            except Exception as exc:
                self._resolve(job.future, error=exc)
            else:
                self._resolve(job.future, verdict)

    def _danbooru(self, jobs: list[_Job]) -> tuple[dict[int, Danbooru], dict[int, BaseException]]:
        """DeepDanbooru's results for ``jobs`` (by position), and the errors of those it
        failed on. A batch it fails on (the GPU's memory: up to ``max_batch`` images at
        512 px) is tried one image at a time, as the model's batches are: only an image
        that fails by itself gets the error."""
        assert self.danbooru is not None
        try:
            sources = [_array(job.source) for job in jobs]
            results = self.danbooru.evaluate([s for s in sources if s is not None], self.max_batch)
        except Exception as exc:
            _let_go(exc)
            if len(jobs) == 1:
                log.error("DeepDanbooru failed for image %s: %r", jobs[0].sha256[:12], exc)
                return {}, {0: exc}
            log.warning(
                "DeepDanbooru failed for a batch of %d images (%r): trying each alone",
                len(jobs),
                exc,
            )
        else:
            return dict(enumerate(results)), {}
        # out of the except: the failed batch's memory is let go before each image alone
        _empty_device_cache()
        done: dict[int, Danbooru] = {}
        failed: dict[int, BaseException] = {}
        for i, job in enumerate(jobs):
            one, error = self._danbooru([job])
            done.update((i, r) for r in one.values())
            failed.update((i, e) for e in error.values())
        return done, failed

    def _resample_here(self, job: _Job) -> None:
        """The reference view made on the device from this decode thread, a few at a
        time: ~50 tensor operations an image, which the inference thread alone spent
        ~2 ms of CPU an image sending on an H200 (BENCHMARKS.md) while the GPU waited;
        torch lets go of the GIL while it sends each one, so decode threads overlap.
        If it fails here (e.g. the device's memory), the inference thread tries again."""
        with self._resample_slots:
            try:
                self._resample_job(job)
            except Exception as exc:
                log.debug("reference view of %s left to the inference thread: %r", job.sha256, exc)
                return
        with self._lock:
            self.stats["resampled_by_decode_threads"] += 1

    def _resample(self, jobs: list[_Job]) -> None:
        """Make the deferred reference views left on the model's device (first region)."""
        for job in jobs:
            if job.deferred is not None:
                self._resample_job(job)

    def _resample_job(self, job: _Job) -> None:
        assert job.deferred is not None
        pixels = job.deferred.pixels
        if isinstance(pixels, np.ndarray):
            pixels = as_tensor(pixels)
        pixels = pixels.to(self.loaded.device, non_blocking=True)
        region, thumbnail = reference_images(pixels, job.deferred.steps)
        job.regions.insert(0, region)
        if self.danbooru is not None:
            job.source = thumbnail  # to the CPU only if CLIP calls it anime
        job.deferred = None
        with self._lock:
            self.stats["resampled_on_device"] += 1

    def _similarities(self, regions: list[Any]) -> np.ndarray:
        """Regions (uint8 ``size x size x 3``: numpy arrays, or tensors on the device)
        -> similarities to every prompt."""
        import torch

        out = []
        for start in range(0, len(regions), self.max_batch):
            chunk = regions[start : start + self.max_batch]
            if all(isinstance(r, np.ndarray) for r in chunk):
                pixels = torch.from_numpy(np.stack(chunk))
                if self.loaded.device.type == "cuda":
                    pixels = pixels.pin_memory()
            else:
                device = self.loaded.device
                pixels = torch.stack(
                    [
                        torch.from_numpy(r).to(device) if isinstance(r, np.ndarray) else r
                        for r in chunk
                    ]
                )
            features = self.loaded.encode_images(pixels)
            out.append((features @ self._text.T).cpu().numpy())
        return np.concatenate(out)

    def _verdict(
        self,
        sha256: str,
        sims: np.ndarray,
        danbooru: Danbooru | None = None,
        status: str = "not_needed",
    ) -> Verdict:
        if not np.isfinite(sims).all():
            # NaN compares false with every threshold: decided, the image would pass
            # as clean. An error instead (the bot records it skipped: classifier_error).
            raise ValueError(
                "the model's similarities are not numbers (NaN or infinite): its weights "
                "may be damaged, or fp16 overflowed (try classifier.device: cpu)"
            )
        decision = combine([self._plan.decide(row, danbooru) for row in sims])
        worst = round4(sims.max(axis=0))  # what the decision compared, as the reference reports it
        scores = dict(decision.scores)
        if danbooru is not None:
            scores.update(danbooru.scores)
        return Verdict(
            labels=decision.labels,
            scores=scores,
            prompt_scores={text: float(s) for text, s in zip(self.concepts.prompts, worst)},
            matched=decision.matched,
            model=self.loaded.identity,
            random_weights=self.loaded.random_weights,
            concept_version=self.concept_version,
            regions=len(sims),
            sha256=sha256,
            deepdanbooru=status,
            danbooru={} if danbooru is None else {**danbooru.ratings, **danbooru.tags},
        )

    def _first_frame_verdict(self, verdict: Verdict, refused: str) -> Verdict:
        """The verdict on the first frame of a file refused for a later one: a label it
        fires stands, ``unreadable`` saying why the rest was not read (the rules about
        labels act on it, those about unreadable files too); with none, the file is
        unreadable as refused (a bomb must not buy an innocent verdict)."""
        if not verdict.labels:
            with self._lock:
                self.stats["unreadable"] += 1
            return self._unreadable(verdict.sha256, refused)
        log.warning(
            "image %s: %s; its first frame was read: %s",
            verdict.sha256[:12],
            refused,
            ", ".join(verdict.labels),
        )
        return replace(verdict, unreadable=f"{refused}; {FIRST_FRAME_ONLY}")

    def _unreadable(self, sha256: str, reason: str) -> Verdict:
        return Verdict(
            labels=(),
            scores={},
            prompt_scores={},
            matched={},
            model=self.loaded.identity,
            random_weights=self.loaded.random_weights,
            concept_version=self.concept_version,
            unreadable=reason,
            regions=0,
            sha256=sha256,
        )
