"""`modbot classify PATH_OR_URL... [--json]`: the classifier's verdict on some images."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from classifier.verdict import Verdict
    from modbot.config.settings import Secret, Settings
    from modbot.fetch.login import InstanceLogin
    from modbot.lemmy import LemmyApi

from modbot.cli.common import Subparsers


def add_parser(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "classify",
        help="classify image files or URLs: labels and top scores (all scores with --json)",
        description=(
            "Classify images with the CLIP safety classifier and print, for each, its labels "
            "(csam, underage, nsfw, anime) and top scores. A score is a margin: similarity "
            "minus threshold, > 0 means the label fired. Nothing is acted on or recorded. "
            "URLs are downloaded into memory with the bot's safe fetcher; a private "
            "instance's own images (on LEMMY_URL, which shows them to logged-in users "
            "only) with the bot's login when LEMMY_URL, LEMMY_USERNAME and LEMMY_PASSWORD "
            "are set (as in its .env), only once Lemmy asks for it. A video is "
            "refused, saying so: only still images are classified (the bot checks a video "
            "in the instance's pict-rs by its first frame only, the still pict-rs renders). "
            "Exit status: 0 all images classified, 1 some input could not be read, "
            "decoded or classified, 2 the classifier could not be loaded (or --rules was "
            "given with a model option) or (remote workers) stopped answering: the inputs "
            "not classified are named."
        ),
        epilog=(
            "The default model is ViT-L-14/openai (the thresholds are calibrated for it) from "
            "the Hugging Face cache; without network it fails at once and says how to get the "
            "weights. Random weights (--allow-random-weights) are for tests only: every verdict "
            "is then marked random_weights=true."
        ),
    )
    p.add_argument(
        "inputs",
        nargs="*",
        metavar="PATH_OR_URL",
        help="image files, folders (their image files, recursively: by name, else by their "
        "first bytes, as a pict-rs store keeps them) or http(s) URLs",
    )
    p.add_argument(
        "--prepare",
        action="store_true",
        help="classify nothing: load the classifier and cache what it computes once per "
        "model (the concepts' text embeddings, in $MODBOT_TEXT_CACHE_DIR, else "
        "~/.cache/modbot/text-embeddings), so the bot's first start does not wait for it; "
        "the Dockerfile runs this when it builds the image; exit 1 when they could not be "
        "cached",
    )
    p.add_argument(
        "--rules",
        metavar="FILE",
        help="take the classifier (model, checkpoint, device, custom concepts, remote "
        "workers) from this rules.yaml (not with a model option below); default: "
        "$MODBOT_RULES, else ./rules.yaml when there is one, unless a model option below "
        "is given",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="one JSON array of full verdicts (every score and prompt)",
    )
    p.add_argument("--model", help="open_clip model name (default: ViT-L-14)")
    p.add_argument(
        "--pretrained",
        help="open_clip pretrained tag; 'none' for none (default: openai)",
    )
    p.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="local weights file or directory instead of the HF cache",
    )
    p.add_argument(
        "--device",
        help="auto (CUDA when present), cpu, cuda, cuda:N (default: auto)",
    )
    p.add_argument(
        "--allow-random-weights",
        action="store_true",
        help="accept a checkpoint with random weights (tests and demos only; verdicts are meaningless)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="images per model batch (default: 32)",
    )
    p.add_argument(
        "--deepdanbooru",
        metavar="auto|off|PATH",
        help="the anime second pass (DeepDanbooru, as fedi-safety runs it): auto uses "
        "model-resnet_custom_v3.pt when found in $HF_HOME or ~/.cache/huggingface and says so "
        "when not; off; or the weights file (default: auto)",
    )
    p.set_defaults(func=run)


MODEL_OPTIONS = (
    "model",
    "pretrained",
    "checkpoint",
    "device",
    "allow_random_weights",
    "batch_size",
    "deepdanbooru",
)
CHUNK = 64  # files read and classified at a time
MAX_FILE_BYTES = 64 * 1024 * 1024  # a larger file is not read (said as its failure)
# what a folder is searched for: every name of the formats the classifier decodes
# (classifier.preprocess.FORMATS: JPEG, PNG, GIF, WebP, BMP, TIFF, AVIF)
IMAGE_SUFFIXES = {
    *(".jpg", ".jpeg", ".jpe", ".jfif", ".pjpeg", ".pjp"),
    *(".png", ".apng", ".gif", ".webp", ".bmp", ".dib", ".tif", ".tiff", ".avif"),
}


def run(args: argparse.Namespace) -> int:
    rules = _rules_for(args)
    if isinstance(rules, int):
        return rules
    if args.prepare:
        return _prepare(args, rules)
    inputs, skipped, unlisted = _expand(args.inputs)
    if skipped:  # on stderr: --json's stdout is the JSON alone
        print(
            f"modbot classify: {skipped} file(s) in the folders are not images: left out",
            file=sys.stderr,
        )
    for folder, why in unlisted.items():
        print(
            f"modbot classify: cannot list {folder}: {why}: the images in it are not classified",
            file=sys.stderr,
        )
    if not inputs:
        if not unlisted:
            print("modbot classify: no image to classify", file=sys.stderr)
        return 1
    engine = _engine_from_rules(rules) if rules else _engine_from_options(args)
    if isinstance(engine, int):
        return engine
    # A chunk of files at a time, so a folder of any size holds one chunk's bytes at once.
    out: list[dict[str, Any]] = []
    bad = bool(unlisted)  # a folder not listed: its images are inputs not read
    stopped: str | None = None  # why the classifier stopped answering
    login = _BotLogin.from_env()
    with engine, login:
        for start in range(0, len(inputs), CHUNK):
            chunk = inputs[start : start + CHUNK]
            data, failures = _read_inputs(chunk, login)
            verdicts, stopped = _classify(engine, [n for n in chunk if n in data], data, failures)
            del data
            bad = bad or bool(failures) or any(v.unreadable for v in verdicts.values())
            done = (
                chunk if stopped is None else [n for n in chunk if n in verdicts or n in failures]
            )
            for name in done:
                if not args.json:
                    print(_line(name, verdicts.get(name), failures.get(name)), flush=True)
                elif name in verdicts:
                    out.append({"input": name, **verdicts[name].to_dict()})
                else:
                    out.append({"input": name, "error": failures[name]})
            if stopped is not None:
                left = [n for n in inputs[start:] if n not in done]
                break
        random_weights = engine.random_weights
    if args.json:
        json.dump(out, sys.stdout, indent=2)
        print()
    elif random_weights:
        print("(RANDOM WEIGHTS: these verdicts mean nothing)")
    if stopped is not None:
        named = ", ".join(left[:5]) + (f" and {len(left) - 5} more" if len(left) > 5 else "")
        print(
            f"modbot classify: the classifier stopped: {stopped}; {len(left)} input(s) not "
            f"classified: {named}",
            file=sys.stderr,
        )
        return 2
    return 1 if bad else 0


def _classify(
    engine: Any, names: list[str], data: dict[str, bytes], failures: dict[str, str]
) -> tuple[dict[str, Verdict], str | None]:
    """The verdicts of ``names``; an image the classifier refuses (a worker's size limit)
    is that input's failure, added to ``failures``. Stops at a classifier that no longer
    answers (no remote worker does, or one refuses the token): (the verdicts so far, why)."""
    from classifier.model import ModelError
    from classifier.remote import RemoteRequestRefused

    futures = [(name, engine.submit(data[name])) for name in names]
    verdicts: dict[str, Verdict] = {}
    stopped: str | None = None
    for name, future in futures:
        try:
            verdict = future.result()
        except RemoteRequestRefused as exc:
            failures[name] = f"the classifier refused it: {exc}"
        except ModelError as exc:  # no worker answers, a worker refuses the token
            stopped = stopped or str(exc)
        except Exception as exc:  # this image only (as the bot records classifier_error)
            failures[name] = f"the classifier failed on it: {exc!r}"[:500]
        else:
            if stopped is None:
                verdicts[name] = verdict
    return verdicts, stopped


def _expand(inputs: list[str]) -> tuple[list[str], int, dict[str, str]]:
    """Each folder as its image files (recursively, sorted); the count of others left
    out; and each folder that could not be listed, with why (pathlib's rglob passes one
    over without a word: its images would go unclassified unsaid).
    A file is an image by its name's suffix, else by its first bytes: pict-rs before 0.5
    (and the files migrated from it) keeps every upload under a bare UUID, and those are
    the images a store's folder is given for (fedi-safety checks every file there)."""
    out: list[str] = []
    skipped = 0
    unlisted: dict[str, str] = {}

    def refused(exc: OSError) -> None:
        unlisted[str(exc.filename)] = exc.strerror or str(exc)

    for name in inputs:
        folder = Path(name)
        if name.startswith(("http://", "https://")) or not folder.is_dir():
            out.append(name)
            continue
        files = [
            Path(top, file)
            for top, _, names in os.walk(folder, onerror=refused)  # symlinked folders not followed
            for file in names
        ]
        for path in sorted(p for p in files if p.is_file()):
            if path.suffix.lower() in IMAGE_SUFFIXES or _image_by_its_bytes(path):
                out.append(str(path))
            else:
                skipped += 1
    return out, skipped, unlisted


def _image_by_its_bytes(path: Path) -> bool:
    """Whether the file's first bytes are an image's (any raster format: one the
    classifier does not decode is then said unreadable, not passed over). A file that
    cannot be read is taken, so that its reading says why."""
    from modbot.fetch.sniff import sniff_image_type

    try:
        with open(path, "rb") as f:
            head = f.read(512)  # an AVIF's or HEIF's brands are within its first box
    except OSError:
        return True
    return sniff_image_type(head) is not None


def _rules_for(args: argparse.Namespace) -> Path | int | None:
    """The rules file whose classifier to use (None: the model options' classifier),
    or 2 once it said why a ``--rules`` given with model options cannot be: the options
    would replace the rules' classifier, and the file named would be dropped unsaid."""
    given = [option for option in MODEL_OPTIONS if getattr(args, option)]
    if given and args.rules:
        flags = ", ".join("--" + option.replace("_", "-") for option in given)
        print(
            f"modbot classify: --rules takes the classifier from {args.rules} (its model, "
            f"checkpoint, device, concepts or workers), and {flags} would replace it: give "
            "one or the other (for another device, set classifier.device in a copy of the "
            "rules file)",
            file=sys.stderr,
        )
        return 2
    return None if given else _rules_path(args.rules)


def _rules_path(given: str | None) -> Path | None:
    """--rules, else $MODBOT_RULES, else ./rules.yaml when there is one."""
    if given:
        return Path(given)
    if os.environ.get("MODBOT_RULES"):
        return Path(os.environ["MODBOT_RULES"])
    default = Path("rules.yaml")
    return default if default.is_file() else None


def _prepare(args: argparse.Namespace, rules: Path | None) -> int:
    """Load the classifier (its engine computes or reads the text embeddings), say
    where they are cached, and exit."""
    if args.inputs:
        print("modbot classify: --prepare takes no images", file=sys.stderr)
        return 1
    engine = _engine_from_rules(rules) if rules else _engine_from_options(args)
    if isinstance(engine, int):
        return engine
    with engine:
        version = engine.concept_version
        if getattr(engine, "loaded", None) is None:  # a remote classifier: nothing here
            print("modbot classify --prepare: the classifier is remote; nothing to prepare here")
            return 0
        from classifier.text_cache import ENV_DIR, cache_file

        try:
            path = cache_file(engine.loaded, version)
            cached = path.is_file()
        except (RuntimeError, OSError):  # no home directory; one it may not look into
            path, cached = None, False
        if path is None or not cached:
            # what --prepare is for (the Dockerfile runs it at build): said, not passed over
            print(
                f"modbot classify --prepare: the text embeddings could not be cached"
                f"{f' in {path.parent}' if path else ''} (the warning above says why); set "
                f"{ENV_DIR} to a directory this user can write",
                file=sys.stderr,
            )
            return 1
        print(
            f"prepared: {engine.loaded.identity}, {len(engine.concepts.prompts)} concept prompts' "
            f"text embeddings cached in {path.parent} (concept version {version})"
        )
    return 0


def _engine_from_rules(path: Path) -> Any:
    """The classifier rules.yaml describes, as the bot builds it (custom concepts and
    remote workers included); an int exit status when it cannot be had."""
    from modbot.classify import build_engine
    from modbot.config.policy import load_policy
    from modbot.config.settings import Secret
    from modbot.errors import ClassifierError, ConfigError

    try:
        policy = load_policy(path)
    except ConfigError as exc:
        print(f"modbot classify: {exc}", file=sys.stderr)
        return 1
    token = os.environ.get("MODBOT_CLASSIFIER_TOKEN")
    c = policy.classifier
    where = f"workers {', '.join(c.remote.urls)}" if c.remote else f"{c.model} on {c.device}"
    print(f"classifier from {path}: {where}", file=sys.stderr)
    try:
        return build_engine(policy, Secret(token) if token else None)
    except ClassifierError as exc:
        print(f"modbot classify: {exc}", file=sys.stderr)
        return 2


def _engine_from_options(args: argparse.Namespace) -> Any:
    from classifier import ConceptSet, Engine, ModelError, ModelSpec, load_model
    from classifier.deepdanbooru import load_deepdanbooru

    pretrained = "openai" if args.pretrained is None else args.pretrained
    spec = ModelSpec(
        name=args.model or "ViT-L-14",
        pretrained=None if pretrained.lower() in ("", "none") else pretrained,
        checkpoint=args.checkpoint,
        device=args.device or "auto",
        allow_random_weights=args.allow_random_weights,
    )
    try:
        loaded = load_model(spec)
        danbooru = load_deepdanbooru(
            args.deepdanbooru or "auto",
            loaded.device,
            allow_random_weights=args.allow_random_weights,
        )
    except ModelError as exc:
        print(f"modbot classify: {exc}", file=sys.stderr)
        return 2
    return Engine(
        loaded, ConceptSet.builtin(), max_batch=max(1, args.batch_size or 32), danbooru=danbooru
    )


def _line(name: str, verdict: Verdict | None, failure: str | None) -> str:
    if failure is not None:
        return f"{name}: cannot read: {failure}"
    assert verdict is not None  # a file that could be read has its verdict
    if verdict.unreadable and not verdict.labels:
        return f"{name}: unreadable: {verdict.unreadable}"
    labels = ", ".join(verdict.labels) or "no labels"
    if verdict.unreadable:  # a later frame refused: its first frame's labels stand
        labels += f" (partly unreadable: {verdict.unreadable})"
    # 4 decimals, as the similarities and thresholds have them: to 3, a label that fired
    # by one step read "+0.000", a near miss "-0.000"
    top = ", ".join(f"{k} {v:+.4f}" for k, v in verdict.top_scores(3))
    anime_pass = {"ran": "; DeepDanbooru ran", "off": "; anime, but DeepDanbooru is OFF"}.get(
        verdict.deepdanbooru or "", ""
    )
    return f"{name}: {labels} (top scores: {top}; {verdict.regions} region{'s' * (verdict.regions != 1)}{anime_pass})"


def _read_inputs(
    inputs: list[str], login: _BotLogin | None = None
) -> tuple[dict[str, bytes], dict[str, str]]:
    data: dict[str, bytes] = {}
    failures: dict[str, str] = {}
    urls = [name for name in inputs if name.startswith(("http://", "https://"))]
    for name in inputs:
        if name in urls:
            continue
        try:
            with open(name, "rb") as f:
                body = f.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            failures[name] = exc.strerror or str(exc)
            continue
        if len(body) > MAX_FILE_BYTES:
            failures[name] = f"larger than {MAX_FILE_BYTES // 2**20} MB: not read"
        elif _is_video(body):
            failures[name] = VIDEO_REFUSED
        else:
            data[name] = body
    if urls:
        import asyncio

        fetched, failed = asyncio.run(_fetch_all(urls, login))
        data.update(fetched)
        failures.update(failed)
    return data, failures


VIDEO_REFUSED = (
    "a video: only still images are classified (the bot checks a video in the instance's "
    "pict-rs through the one still pict-rs renders of it, its first frame only); to "
    "classify a frame here, save it as an image first (e.g. ffmpeg -i VIDEO -frames:v 1 "
    "frame.png)"
)


def _is_video(data: bytes) -> bool:
    from modbot.fetch.sniff import sniff_image_type, why_not_an_image

    return sniff_image_type(data) is None and why_not_an_image(data, None).startswith("a video")


class _BotLogin:
    """The bot's Lemmy login, for LEMMY_URL's own image routes where a private instance
    asks for it (``modbot.fetch.login``), when LEMMY_URL, LEMMY_USERNAME and
    LEMMY_PASSWORD are set (the bot's .env): the client is made (its API version asked)
    and logs in only once Lemmy answers an image 401 without it. Read-only: nothing is
    changed on the instance."""

    def __init__(self, settings: Settings | None) -> None:
        self.settings = settings
        self._client: LemmyApi | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls) -> _BotLogin:
        from modbot.config.settings import Settings, SettingsError

        try:
            return cls(Settings.from_env())
        except SettingsError:
            return cls(None)  # no login: an own image's 401 says what to set

    def for_fetcher(self) -> InstanceLogin | None:
        from modbot.fetch.login import InstanceLogin

        if self.settings is None:
            return None
        return InstanceLogin([self.settings.lemmy_url], self._token, self._relogin)

    def _token(self) -> Secret:
        return self._connected().token()

    def _relogin(self, dropped: Secret) -> None:
        self._connected().login(dropped=dropped, what="image download")

    def _connected(self) -> Any:
        from modbot.lemmy import connect

        assert self.settings is not None
        with self._lock:
            if self._client is None:
                self._client = connect(
                    self.settings, requests_per_minute=60, timeout=30.0, read_only=True
                )
            return self._client

    def __enter__(self) -> _BotLogin:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()


def _refused_image(url: str, login: _BotLogin | None) -> str:
    """What to do about a 401 on ``url``, where it is a Lemmy image route (a private
    instance's, asking for a login), else ''."""
    from modbot.fetch.identity import origin
    from modbot.fetch.login import is_image_route
    from modbot.lemmy.transport import shown_url

    if not is_image_route(urlsplit(url).path):
        return ""
    if login is None or login.settings is None:
        return (
            " (a private Lemmy shows its images to logged-in users only: set LEMMY_URL, "
            "LEMMY_USERNAME and LEMMY_PASSWORD, or run this where the bot's .env is, to "
            "read them with the bot's login)"
        )
    if origin(url) != origin(login.settings.lemmy_url):
        return (
            " (a private Lemmy shows its images to logged-in users only: the bot's login "
            f"goes to LEMMY_URL's image routes only; ask for this image on "
            f"{shown_url(login.settings.lemmy_url)})"
        )
    return ""


async def _fetch_all(
    urls: list[str], login: _BotLogin | None = None
) -> tuple[dict[str, bytes], dict[str, str]]:
    from modbot.fetch import Fetcher, FetchSkipped
    from modbot.fetch.addresses import parse_host_entry

    fetched: dict[str, bytes] = {}
    failed: dict[str, str] = {}
    good: list[str] = []
    for url in urls:  # one malformed URL is its own failure, not the whole run's
        try:
            parse_host_entry(url)
        except ValueError:
            failed[url] = "bad_url: not an http(s) URL with a host (and a port from 1 to 65535)"
        else:
            good.append(url)
    if not good:
        return fetched, failed
    # the admin named these hosts (host:port of each URL): they may be on a private
    # network, e.g. their own instance; redirects elsewhere are still checked
    # a private instance's own images with the bot's login, on LEMMY_URL's origin only
    instance_login = login.for_fetcher() if login is not None else None
    async with Fetcher(allowed_hosts=good, login=instance_login) as fetcher:
        for url in good:
            try:
                fetched[url] = (await fetcher.fetch(url)).data
            except FetchSkipped as exc:
                failed[url] = f"{exc.reason}: {exc.message}"
                if exc.reason == "http_401":
                    failed[url] += _refused_image(url, login)
            except ValueError as exc:
                failed[url] = f"bad_url: {exc}"
    return fetched, failed
