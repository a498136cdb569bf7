"""The classifier as the pipeline sees it: the ``Engine`` protocol, the table of engine
kinds, and the verdict cache.

``ENGINE_KINDS`` maps a kind to the function that builds it from the policy: ``local``
(``classifier.Engine``: the model loaded in this process, on its GPU or CPU) and
``remote`` (``classifier.remote.RemoteEngine``: ``modbot worker``s over HTTP, with
failover), chosen by ``engine_kind(policy)`` (``classifier.remote`` set or not). Another
kind (a classifier served some other way) is one builder function and one row; the
pipeline only ever sees an ``Engine``.

Verdicts are cached in the state file by the image's SHA-256 and the engine's concept
version (model, prompts, thresholds, preprocessing): ``judge`` asks the cache first.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from modbot.config.words import cut
from modbot.errors import ClassifierError

if TYPE_CHECKING:
    from classifier.budget import DecodeBudget
    from classifier.model import ModelSpec
    from classifier.preprocess import PreprocessConfig
    from classifier.verdict import Verdict
    from modbot.config.policy import Policy
    from modbot.config.settings import Secret
    from modbot.store import Store

__all__ = [
    "CLASSIFIER_UNAVAILABLE",
    "ENGINE_KINDS",
    "Engine",
    "Judged",
    "StoreCache",
    "VerdictCache",
    "build_engine",
    "cached",
    "decode_budget",
    "engine_kind",
    "judge",
    "local_concept_version",
]

log = logging.getLogger(__name__)

# skipped: no classifier worker answered (classifier.remote), or classifying it ran out of
# memory; the item is not marked seen
CLASSIFIER_UNAVAILABLE = "classifier_unavailable"


class Engine(Protocol):
    """What the pipeline asks of a classifier, wherever it runs."""

    @property
    def concept_version(self) -> str | None:
        """What verdicts are cached under; None until known (a remote worker answered)."""
        ...

    @property
    def random_weights(self) -> bool | None:
        """The model has random weights (tests, the demo's test model)."""
        ...

    async def ready(self) -> str | None:
        """The concept version, once the engine knows it (a remote one: None while no
        worker said it)."""
        ...

    async def classify(self, data: bytes) -> Verdict:
        """The verdict on one image's bytes (``unreadable`` set when they do not decode)."""
        ...

    def close(self) -> None: ...


def inference_on_cpu(engine: Engine) -> bool:
    """A local model on this machine's CPU: the bot's own threads that feed it (the
    downloads' event loop) yield to its threads (``classifier.engine.yield_to_inference``)."""
    return bool(getattr(engine, "on_cpu", False))


def decode_budget(engine: Engine) -> DecodeBudget | None:
    """Where a second decode of an image (its perceptual hash) holds its memory: a local
    engine's decode budget; None for an engine that decodes elsewhere."""
    return getattr(engine, "decode_budget", None)


def preprocess_config(engine: Engine) -> PreprocessConfig | None:
    """How a local engine cuts images (what a decode's cost is estimated with)."""
    return getattr(engine, "preprocess", None)


def decoded_hashes(
    engine: Engine,
    data: bytes,
    kinds: tuple[str, ...],
    budget: DecodeBudget | None = None,
    deadline: float | None = None,
    not_taken: dict[str, str] | None = None,
) -> dict[str, str]:
    """The hashes of a readable image that decode it (a perceptual hash): a second
    decode, so it holds its memory in the classifier's decode budget like the first
    (none when they cannot be taken: a bomb, over the budget). ``budget``: where it
    holds it when the engine has none (a remote classifier decodes elsewhere); with
    neither, the decode is bounded by the hash's own 64-megapixel cap only.
    ``deadline`` (``time.monotonic()``): a decode whose memory came only after it is
    not made (its caller answered without it): none. ``not_taken``, when given, gets
    each kind not taken and why (kind -> words), for the decision record, a PDQ below
    quality 50 too (it matches nothing)."""
    budget = decode_budget(engine) or budget
    if budget is None:
        return _usable_hashes(data, kinds, not_taken)
    from classifier.budget import estimate
    from classifier.preprocess import PreprocessConfig, Unreadable

    cfg = preprocess_config(engine) or PreprocessConfig()  # a remote one's: the default
    try:
        # the planning open's metadata copies are held while it runs, then the decode's
        with budget.reserve(estimate(data, cfg, budget), "its perceptual hash"):
            if deadline is not None and time.monotonic() > deadline:
                log.debug("no perceptual hash: its memory came after its deadline")
                _none_taken(kinds, "its decode's memory came after the answer was due", not_taken)
                return {}
            return _usable_hashes(data, kinds, not_taken)
    except Unreadable as exc:
        log.debug("no perceptual hash: %s", exc)
        _none_taken(kinds, f"not decoded for it: {exc}", not_taken)
        return {}


def _usable_hashes(
    data: bytes, kinds: tuple[str, ...], not_taken: dict[str, str] | None
) -> dict[str, str]:
    """``modbot.hashes.hashes_of``, the errors of the kinds not taken put in
    ``not_taken`` (``compute_all`` has logged those of a kind's code failing)."""
    from modbot.hashes import Digest, compute_all

    out = {}
    for kind, digest in compute_all(data, list(kinds)).items():
        if isinstance(digest, Digest):
            if digest.usable:
                out[kind] = digest.hex
            elif not_taken is not None:  # e.g. a flat picture's PDQ: it would match anything
                not_taken[kind] = (
                    f"its quality ({digest.quality}) is below what Meta's reference keeps: "
                    "such a hash would match unrelated pictures, so it matches nothing"
                )
        elif not_taken is not None:
            not_taken[kind] = str(digest)
    return out


def _none_taken(kinds: tuple[str, ...], why: str, not_taken: dict[str, str] | None) -> None:
    if not_taken is not None:
        not_taken.update(dict.fromkeys(kinds, why))


# --- the kinds -------------------------------------------------------------------------------


def _custom_concepts(policy: Policy) -> list[Any]:
    from classifier.concepts import CustomConcept

    return [
        CustomConcept(name, tuple(s.prompts), s.threshold)
        for name, s in (policy.concepts or {}).items()
    ]


def _model_spec(policy: Policy) -> ModelSpec:
    from classifier.model import ModelSpec

    c = policy.classifier
    return ModelSpec(
        name=c.model,
        pretrained=c.pretrained,
        checkpoint=policy.checkpoint_path,
        device=c.device,
        allow_random_weights=c.allow_random_weights,
    )


def _local(policy: Policy, token: Secret | None, largest_image: tuple[int, str]) -> Engine:
    """The model in this process (``classifier:`` model, checkpoint, device...); it takes
    an image of any size (its decode budget bounds what decoding one costs)."""
    from classifier.concepts import ConceptSet
    from classifier.deepdanbooru import load_deepdanbooru
    from classifier.engine import Engine as LocalEngine
    from classifier.model import load_model

    c = policy.classifier
    loaded = load_model(_model_spec(policy))
    danbooru = load_deepdanbooru(
        policy.deepdanbooru_setting, loaded.device, allow_random_weights=c.allow_random_weights
    )
    return LocalEngine(
        loaded,
        ConceptSet.builtin(custom=_custom_concepts(policy)),
        max_batch=c.batch_size,
        decode_memory=c.decode_memory,
        danbooru=danbooru,
        # auto: None, the engine's default for the device
        decode_processes=c.decode_processes if isinstance(c.decode_processes, int) else None,
        views_in_processes=c.views_in_processes,
    )


def _remote(policy: Policy, token: Secret | None, largest_image: tuple[int, str]) -> Engine:
    """``modbot worker``s (``classifier.remote``); no model is loaded here. A worker that
    refuses the token stops the command at once; one whose size limit is under
    ``largest_image`` is warned of."""
    from classifier.remote import RemoteEngine

    remote = policy.classifier.remote
    assert remote is not None  # engine_kind chose this kind because it is set
    engine = RemoteEngine(
        remote.urls,
        token.reveal() if token else None,
        custom=_custom_concepts(policy),
        timeout=remote.timeout.total_seconds(),
        max_concurrency=remote.concurrency,
        allow_random_weights=policy.classifier.allow_random_weights,
        largest_image=largest_image,
    )
    try:
        engine.check()
    except BaseException:
        engine.close()
        raise
    return engine


#: kind -> how to build it from the policy, the workers' token and the largest image
#: the command sends it (bytes, the setting that says so)
ENGINE_KINDS: dict[str, Callable[[Policy, Secret | None, tuple[int, str]], Engine]] = {
    "local": _local,
    "remote": _remote,
}


def local_concept_version(policy: Policy) -> str:
    """The concept version the local engine ``build_engine(policy)`` would have, without
    loading a model: what ``modbot report`` compares recorded verdicts with (a second
    copy of the model beside the daemon's would cost seconds and gigabytes, on its GPU
    too). Raises ``ClassifierError`` where the engine could not start either."""
    from classifier.budget import DecodeBudget
    from classifier.concepts import ConceptSet
    from classifier.deepdanbooru import DeepDanbooruError, describe_deepdanbooru
    from classifier.engine import concept_version
    from classifier.model import ModelError, describe_model
    from classifier.preprocess import PreprocessConfig

    try:
        model = describe_model(_model_spec(policy))
        danbooru = describe_deepdanbooru(policy.deepdanbooru_setting)
    except (ModelError, DeepDanbooruError) as exc:
        raise ClassifierError(f"the classifier's concept version is unknown: {exc}") from exc
    return concept_version(
        ConceptSet.builtin(custom=_custom_concepts(policy)),
        model.fingerprint,
        danbooru,
        PreprocessConfig(size=model.image_size),
        DecodeBudget(policy.classifier.decode_memory).total,
    )


def engine_kind(policy: Policy) -> str:
    return "remote" if policy.classifier.remote is not None else "local"


def build_engine(
    policy: Policy,
    classifier_token: Secret | None = None,
    *,
    largest_image: tuple[int, str] | None = None,
) -> Engine:
    """The classifier the policy's ``classifier:`` and ``concepts:`` describe
    (``classifier_token``: the workers' token, from $MODBOT_CLASSIFIER_TOKEN;
    ``largest_image``: (bytes, setting) of the largest image the command sends it, the
    bot's ``fetch.max_bytes`` unless given: a worker taking less is warned of). Weights
    that are not there, or a worker refusing the token, raise ``ClassifierError`` (its
    cause the ``classifier.ModelError``): the command says so and stops."""
    from classifier.model import ModelError

    try:
        largest = largest_image or (policy.fetch.max_bytes, "fetch.max_bytes")
        return ENGINE_KINDS[engine_kind(policy)](policy, classifier_token, largest)
    except ModelError as exc:
        raise ClassifierError(f"the classifier cannot start: {exc}") from exc


# --- verdicts, cached ------------------------------------------------------------------------


@dataclass(frozen=True)
class Judged:
    """What became of one file: its verdict (as recorded), or why there is none."""

    verdict: dict[str, Any] | None = None
    cached: bool = False
    skipped: str | None = None  # classifier_unavailable, classifier_error
    detail: str = ""


class VerdictCache(Protocol):
    """Where ``judge`` looks for a verdict first, and keeps a new one."""

    async def get(self, sha256: str, concept_version: str) -> dict[str, Any] | None: ...

    def put(self, sha256: str, concept_version: str, verdict: dict[str, Any]) -> None: ...


class StoreCache:
    """The verdicts cached in the state file, read and written by the calling thread
    (``later``: a new one is committed with the store's next transaction, as the bot's
    pipeline records an item; ``Store.put_verdict``)."""

    def __init__(self, store: Store, *, later: bool = False) -> None:
        self.store, self.later = store, later

    async def get(self, sha256: str, concept_version: str) -> dict[str, Any] | None:
        return self.store.get_verdict(sha256, concept_version)

    def put(self, sha256: str, concept_version: str, verdict: dict[str, Any]) -> None:
        self.store.put_verdict(sha256, concept_version, verdict, later=self.later)


async def cached(cache: VerdictCache, sha256: str, version: str | None) -> Judged | None:
    """The verdict ``cache`` holds for the file under the concept ``version``, or None
    (no version: a worker that did not say it; nothing is cached under none)."""
    verdict = await cache.get(sha256, version) if version is not None else None
    return None if verdict is None else Judged(verdict, cached=True)


def _decoder_unavailable(exc: Exception) -> bool:
    """Whether ``exc`` is a local engine's ``DecoderUnavailable`` (its decoding processes
    cannot decode: not the image's fault). Looked up only where that module is loaded:
    a remote engine never raises it, and need not import it."""
    module = sys.modules.get("classifier.decode_processes")
    return module is not None and isinstance(exc, module.DecoderUnavailable)


async def judge(engine: Engine, cache: VerdictCache, sha256: str, data: bytes) -> Judged:
    """The verdict on one file: from ``cache`` (by SHA-256 and concept version), else
    the classifier's, then cached under the version it was made with."""
    import asyncio

    from classifier.remote import MAX_SAID_CHARS, ClassifierUnavailable, RemoteError

    def detail(said: str, exc: Exception) -> str:
        # a remote classifier's error names every worker asked, each one's reason
        # bounded: kept whole, the last worker's too; another error's first 300
        # characters. A cut ends with "…", as a worker's reason does, so a reader
        # knows the message goes on
        bound = MAX_SAID_CHARS if isinstance(exc, RemoteError) else 300
        return cut(said, bound)

    try:
        # a remote classifier learns its concept version from the first worker that
        # answers; a local one knows it
        version = engine.concept_version or await engine.ready()
    except asyncio.CancelledError:
        raise
    except ClassifierUnavailable as exc:
        return Judged(skipped=CLASSIFIER_UNAVAILABLE, detail=detail(str(exc), exc))
    except Exception as exc:  # as below
        log.warning("asking the classifier for its concept version failed: %r", exc)
        return Judged(skipped="classifier_error", detail=detail(repr(exc), exc))
    hit = await cached(cache, sha256, version)
    if hit is not None:
        return hit
    try:
        verdict = (await engine.classify(data)).to_dict()
    except asyncio.CancelledError:
        raise
    except ClassifierUnavailable as exc:  # also every worker refusing the concepts sent
        return Judged(skipped=CLASSIFIER_UNAVAILABLE, detail=detail(str(exc), exc))
    except MemoryError as exc:
        # the machine was short, not the file broken (a decode's MemoryError: the
        # engine's): not judged now, the item looked at again, as with no classifier
        log.error("classifying %s ran out of memory (%s): tried again", sha256[:12], exc)
        said = f"out of memory classifying it ({exc}): tried again next cycle"
        return Judged(skipped=CLASSIFIER_UNAVAILABLE, detail=detail(said, exc))
    except Exception as exc:  # e.g. every worker refused this image (413: too large)
        if _decoder_unavailable(exc):  # not the file's fault either: looked at again
            return Judged(skipped=CLASSIFIER_UNAVAILABLE, detail=detail(str(exc), exc))
        log.warning("classifying %s failed: %r", sha256[:12], exc)
        return Judged(skipped="classifier_error", detail=detail(repr(exc), exc))
    # under the version it was made with: a remote worker may serve another
    made_with = verdict.get("concept_version") or version
    if made_with is not None:
        cache.put(sha256, made_with, verdict)
    return Judged(verdict)
