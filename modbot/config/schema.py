"""The rules.yaml schema: the pydantic models of every section and rule, and the names a
rule may use (labels, scores, placeholders, skip reasons). What a valid policy *is*;
reading the file keeping lines (``yamlfile``), the checks that need the whole file and
the messages (``checks``), and the loaded policy (``policy``) live beside it.

One pydantic model per section of rules.yaml, in the order of the file.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_validator,
)

from classifier.budget import MIN_DECODE_MEMORY
from classifier.concepts import CONCEPT_NAME, DANBOORU_SCORES, RESERVED_CONCEPT_NAMES
from modbot.actions.kinds import ACTIONS, BAN_REASON_MAX, REPORT_MAX
from modbot.config.units import (
    Comparison,
    parse_duration,
    parse_duration_comparison,
    parse_number_comparison,
    parse_size,
)
from modbot.config.words import describe, suggest
from modbot.hashes import HASH_KINDS, LIST_FORMATS
from modbot.markdown import lemmy_length
from modbot.model import PROFILE_KINDS

BUILTIN_LABELS = ("csam", "underage", "nsfw", "anime")
# DeepDanbooru's scores (only in verdicts where it ran), and `danbooru:<tag>` for its tags
DANBOORU_TAG_SCORE = "danbooru:"
BUILTIN_SCORES = ("csam", "underage", "nsfw", "anime", "subject", *DANBOORU_SCORES)
# file: `modbot sweep --store`; avatar ... site_sidebar: a person's, a community's or the
# site's own image, or one written into their bio, description or sidebar
# (modbot.profiles, modbot.source; found in `profile`); `incoming`: a file pict-rs is
# about to store, as `modbot gate` sees it (no item, author or community yet), matched
# only by rules that name it, never by `any`
PROFILE_TYPES = PROFILE_KINDS
ITEM_TYPES = ("post", "comment", "upload", "file", *PROFILE_TYPES, "any", "incoming")
LOCATIONS = ("post_url", "thumbnail", "body", "comment", "upload", "store", "profile")
SCOPES = ("local", "federated", "all")
PLACEHOLDERS = (
    "author",
    "permalink",
    "community",
    "rule",
    "labels",
    "sha256",
    "image_url",
    "found_in",
    "type",
    "hash_list",
    "unreadable",
    # the image's hash of each kind a hash list may hold, by the kind's name
    *(kind for kind in HASH_KINDS if kind != "sha256"),
    "skipped",
    # why the download failed, in words and as its code (`fetch_failed` images only)
    "fetch_failed",
)
# Why an image was not checked (the audit's `skipped`), as a rule's `skipped:` names it;
# also any `http_<status>`. (`purged`, an image modbot purged already, is never matched.)
SKIP_REASONS = (
    "too_many_images",
    "item_timeout",
    "timeout",
    "too_large",
    "not_an_image",
    "empty",
    "private_address",
    "bad_url",
    "bad_scheme",
    "dns_error",
    "connect_error",
    "network_error",
    "protocol_error",
    "too_many_redirects",
    "fetch_error",
    "classifier_error",
    "remote_video",
)
# The skip reasons that say the image could not be downloaded (a rule's `fetch_failed:`),
# also any `http_<status>` and the classes `http_4xx`, `http_5xx`. Not among them: an
# image never tried (too_many_images, remote_video) or one the classifier failed on.
FETCH_FAILURES = (
    "not_an_image",
    "timeout",
    "item_timeout",
    "too_large",
    "empty",
    "private_address",
    "bad_url",
    "bad_scheme",
    "dns_error",
    "connect_error",
    "network_error",
    "protocol_error",
    "too_many_redirects",
    "fetch_error",
)
HTTP_STATUS = re.compile(r"http_[1-5]\d\d")
HTTP_CLASS = re.compile(r"http_[1-5]xx")
DEFAULT_REMOVE_REASON = "Removed by modbot: {{rule}}"
DEFAULT_REPORT_REASON = "modbot: {{rule}}"
DEFAULT_BAN_REASON = "{{rule}}"
PLACEHOLDER = re.compile(r"\{\{\s*(.*?)\s*\}\}")


# --- field types ------------------------------------------------------------------------


def _none_to(empty: Callable[[], Any]) -> BeforeValidator:
    return BeforeValidator(lambda v: empty() if v is None else v)


def _one_or_many(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


def _choice(allowed: tuple[str, ...], what: str) -> PlainValidator:
    def check(v: Any) -> str:
        if not isinstance(v, str) or v not in allowed:
            hint = suggest(v, allowed) if isinstance(v, str) else ""
            raise ValueError(f"unknown {what} {v!r}{hint}; use one of: {', '.join(allowed)}")
        return v

    return PlainValidator(check)


def _reason(default: str, limit: int | None = None) -> PlainValidator:
    """A reason; with Lemmy's `limit`, the admin's own words may take all but 200 of it
    (room for the placeholders' values, which are cut to fit)."""
    most = None if limit is None else limit - 200

    def check(v: Any) -> str | None:
        if v is True:
            return default
        if v is None or v is False:
            return None
        if not isinstance(v, str) or not v.strip():
            raise ValueError(f"expected a reason in quotes (or true for the default), got {v!r}")
        # the placeholders' values are cut to fit (modbot.rules.render), the words not
        own = lemmy_length(PLACEHOLDER.sub("", v))
        if most is not None and own > most:
            raise ValueError(
                f"this reason has {own:,} characters besides its {{{{placeholders}}}}; keep "
                f"it to {most:,}, so that with their values it stays within the "
                f"{limit:,} Lemmy takes"
            )
        return v

    return PlainValidator(check)


def _message(v: Any) -> str | None:
    if v is None or v is False:
        return None
    if not isinstance(v, str) or not v.strip():
        raise ValueError(f"expected a message in quotes, got {v!r}")
    return v


def _ban_duration(v: Any) -> timedelta | None:
    if v == "permanent":
        return None
    try:
        duration = parse_duration(v)
    except ValueError as exc:
        raise ValueError(f"{exc}, or permanent") from None
    if duration < timedelta(seconds=1):  # Lemmy's ban ends on a whole second
        raise ValueError(f"a ban must last at least 1s (or be permanent), got {v!r}")
    if duration > LONGEST_BAN:
        # Past it an end date means nothing an admin would choose, and far enough out it
        # is past the year 9999 that Lemmy's answers (and Python's dates) can carry
        raise ValueError(f"{v!r} is more than 100 years (36500d): write permanent")
    return duration


LONGEST_BAN = timedelta(days=36500)


def _sweep_since(v: Any) -> timedelta | None:
    return None if v == "all" else _duration(v, " (all: everything)")


def _duration(v: Any, longer: str = "") -> timedelta:
    return _at_most_a_century(v, parse_duration(v), longer)


def _duration_or_zero(v: Any) -> timedelta:
    """A duration where zero means something (`recheck_after: 0s`: always ask)."""
    return _at_most_a_century(v, parse_duration(v, allow_zero=True))


def _at_most_a_century(v: Any, duration: timedelta, longer: str = "") -> timedelta:
    # A setting's duration is added to or taken from now (lemmy.lookback, sweep_since):
    # far past this, the date is past what Python can hold and the bot dies mid-run
    if duration > LONGEST_BAN:
        raise ValueError(f"{v!r} is more than 100 years (36500d): give a shorter one{longer}")
    return duration


def _score_test(v: Any) -> Comparison:
    test = parse_number_comparison(v)
    if not math.isfinite(test.value):  # float() reads them: "> nan" never fires, "< inf" always
        rest = test.text.split(" ", 1)[1]
        raise ValueError(
            f"{rest!r} in {v!r} is not a number (a score is compared with a number like 0.02)"
        )
    low, high = test.test(-MAX_SCORE), test.test(MAX_SCORE)
    if low == high:
        # a score is a margin (a similarity, -1..1, less a threshold, -1..1): a test that
        # both ends pass (`>= -2`), or neither (`> 2`, `> 25`), passes every score or none,
        # and the rule would act on every image, or never, without a word
        holds = low
        meant = (
            f" (did you mean {test.value / 100:g}?)" if MAX_SCORE < abs(test.value) <= 100 else ""
        )
        raise ValueError(
            f"{v!r} {'always' if holds else 'never'} holds: a score is between "
            f"-{MAX_SCORE:g} and {MAX_SCORE:g} (similarity - threshold; > 0 means the label "
            f"fired, 0.02 is a typical test){meant}"
        )
    return test


MAX_SCORE = 2.0


def is_fetch_failure(reason: str | None) -> bool:
    """Whether a skip reason says the image could not be downloaded."""
    return bool(reason) and (reason in FETCH_FAILURES or bool(HTTP_STATUS.fullmatch(reason or "")))


def reason_matches(reason: str | None, wanted: bool | list[str]) -> bool:
    """Whether a skip reason is one a rule's `skipped:` / `fetch_failed:` asks for (true:
    any; `http_4xx`: any 4xx status)."""
    if not reason:
        return False
    if wanted is True:
        return True
    return isinstance(wanted, list) and any(
        reason == w
        or (HTTP_CLASS.fullmatch(w) and HTTP_STATUS.fullmatch(reason) and reason[5] == w[5])
        for w in wanted
    )


def _reasons(condition: str, allowed: tuple[str, ...], what: str) -> Callable[[Any], Any]:
    """A `skipped:` or `fetch_failed:` value: true, or a reason or a list of them."""

    def check(v: Any) -> bool | list[str]:
        v = _one_or_many(v)
        if v is True:
            return True
        if v is False:
            raise ValueError(
                f"`{condition}: false` matches nothing a rule could act on (only checked "
                "images have labels); leave the condition out"
            )
        names = f"{', '.join(allowed)}, http_<status> (like http_404), http_4xx, http_5xx"
        if not isinstance(v, list) or not v:
            raise ValueError(f"expected true or {what} ({names}), got {describe(v)}")
        for reason in v:
            if not isinstance(reason, str) or not (
                reason in allowed or HTTP_STATUS.fullmatch(reason) or HTTP_CLASS.fullmatch(reason)
            ):
                if reason in SKIP_REASONS:  # a skip that is not a download failure
                    raise ValueError(
                        f"{reason!r} is not a download failure (the image was not tried, "
                        f"or the classifier failed): write `skipped: {reason}` for it"
                    )
                hint = suggest(reason, allowed) if isinstance(reason, str) else ""
                raise ValueError(
                    f"unknown {what[:-1]} {reason!r}{hint}; use true (any) or: {names}"
                )
        return v

    return check


_skip_reasons = _reasons("skipped", SKIP_REASONS, "skip reasons")
_fetch_failures = _reasons("fetch_failed", FETCH_FAILURES, "download failures")


Duration = Annotated[timedelta, PlainValidator(_duration)]
DurationOrZero = Annotated[timedelta, PlainValidator(_duration_or_zero)]
Size = Annotated[int, PlainValidator(parse_size)]
ScoreTest = Annotated[Comparison, PlainValidator(_score_test)]
AgeTest = Annotated[Comparison, PlainValidator(parse_duration_comparison)]
Reason = Annotated[str | None, _reason(DEFAULT_REMOVE_REASON)]
ReportReason = Annotated[str | None, _reason(DEFAULT_REPORT_REASON, REPORT_MAX)]
BanReason = Annotated[str | None, _reason(DEFAULT_BAN_REASON, BAN_REASON_MAX)]
Message = Annotated[str | None, PlainValidator(_message)]
Names = Annotated[list[str], BeforeValidator(_one_or_many), _none_to(list)]
# In a condition an empty list would match nothing (or, read carelessly, everything).
_NonEmpty = Field(min_length=1)
SomeNames = Annotated[list[str], BeforeValidator(_one_or_many), _NonEmpty]


class Section(BaseModel):
    # strict: a value keeps the type YAML gave it. Lax, pydantic read `remove_data: "yes"`
    # as true, `moderators_exempt: "no"` as false (acting on moderators) and `priority:
    # "50"` or `priority: true` as numbers, silently; in quotes a word is text, and said so
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        arbitrary_types_allowed=True,
        strict=True,
    )


# --- settings sections ------------------------------------------------------------------


def _worker_url(v: Any) -> str:
    from classifier.remote import check_worker_url  # no torch: the remote engine is httpx

    if not isinstance(v, str):
        raise ValueError(f"expected a worker URL like https://gpu.example:8095, got {describe(v)}")
    return check_worker_url(v)


def _remote(v: Any) -> Any:
    # `remote: URL` and `remote: [URL, ...]` are short for `remote: {urls: ...}`
    return {"urls": v} if isinstance(v, (str, list)) else v


def _decode_processes(v: Any) -> int | str:
    if v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 64):
        return v
    raise ValueError(
        "expected auto, or a number of decoding processes from 0 to 64 (0: decode in "
        f"threads), got {describe(v)}"
    )


# The least an image size cap may be: a number without a unit is bytes, and `max_bytes:
# 25` (meant: 25MB) would skip every image as too large, or refuse every upload at the gate.
MIN_IMAGE_CAP = 100_000


def _image_cap(v: int, over: str, unit: str = "MB") -> int:
    if v < MIN_IMAGE_CAP:
        raise ValueError(
            f"{v:,} bytes is less than nearly any image, so {over}; a number without a "
            f"unit is bytes: write the unit, like {v}{unit} (at least 100KB)"
        )
    return v


class RemoteClassifierSettings(Section):
    urls: Annotated[
        list[Annotated[str, PlainValidator(_worker_url)]], BeforeValidator(_one_or_many)
    ] = Field(min_length=1, max_length=16)
    timeout: Duration = timedelta(seconds=60)
    concurrency: int = Field(16, ge=1, le=1024)


class ClassifierSettings(Section):
    # `modbot worker`s to ask instead of a model loaded here: then the settings below
    # are the workers' business and not used here
    remote: Annotated[RemoteClassifierSettings | None, BeforeValidator(_remote)] = None
    model: str = "ViT-L-14"
    pretrained: str | None = "openai"
    checkpoint: str | None = None
    device: str = "auto"
    batch_size: int = Field(32, ge=1, le=1024)
    allow_random_weights: bool = False
    decode_memory: Size = 1_000_000_000  # all decodes at once; a costlier image is unreadable
    # decoding processes: auto is one per core on a GPU, none on a CPU (threads there)
    decode_processes: Annotated[int | str, PlainValidator(_decode_processes)] = "auto"
    # on a GPU, the decoding processes make the reference's views themselves (a CUDA
    # context each): off until a GPU's figures say it pays (BENCHMARKS.md)
    views_in_processes: bool = False

    @field_validator("decode_memory")
    @classmethod
    def _decode_memory(cls, v: int) -> int:
        if v < MIN_DECODE_MEMORY:
            raise ValueError(
                f"decode_memory {v:,} bytes is too small to decode a photo; "
                "give at least 50MB (the default is 1GB)"
            )
        return v

    deepdanbooru: str = "auto"

    @field_validator("deepdanbooru", mode="before")
    @classmethod
    def _deepdanbooru(cls, v: Any) -> str:
        if v is False:  # YAML reads a bare `off` as false
            return "off"
        if v is True:
            return "auto"
        if not isinstance(v, str) or not v.strip():
            raise ValueError(f"use auto, off, or the path of model-resnet_custom_v3.pt; got {v!r}")
        return v

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", v):
            raise ValueError(f"unknown device {v!r}; use auto, cpu, cuda, cuda:N or mps")
        return v


class ConceptSettings(Section):
    prompts: Annotated[list[str], BeforeValidator(_one_or_many)] = Field(min_length=1)
    threshold: float = Field(ge=-1.0, le=1.0)

    @field_validator("prompts")
    @classmethod
    def _prompts(cls, v: list[str]) -> list[str]:
        if not all(p.strip() for p in v):
            raise ValueError(
                "a prompt is empty: each prompt is a short description, "
                "like 'photo of a mutilated body'"
            )
        return [p.strip() for p in v]


def _worker_refuses(concepts: dict[str, ConceptSettings]) -> str | None:
    """Why a classifier worker would refuse these concepts, or None: with
    classifier.remote the bot sends them with every image, and a refused set is a 400
    for every image. The worker's own reading (classifier.service's ``parse_concepts``
    and its header limit) says; a concept whose name is not one is left to
    ``checks.check_concepts``, which says so at its line."""
    from classifier.concepts import ConceptError
    from classifier.service import MAX_CONCEPTS_BYTES, concepts_header, parse_concepts

    data = {
        name: {"prompts": list(c.prompts), "threshold": c.threshold}
        for name, c in concepts.items()
        if CONCEPT_NAME.fullmatch(name) and name not in RESERVED_CONCEPT_NAMES
    }
    try:
        parsed = parse_concepts(data, "a classifier worker refuses them")
    except ConceptError as exc:
        return f"{exc}: fewer concepts or prompts, each a short description"
    header = concepts_header(parsed)
    if header is not None and len(header) > MAX_CONCEPTS_BYTES:
        return (
            f"they take {len(header):,} bytes as sent to a worker (a character outside "
            f"ASCII takes 6), over the {MAX_CONCEPTS_BYTES:,} it takes: fewer or shorter "
            "prompts"
        )
    return None


class HashListSettings(Section):
    kind: Annotated[str, _choice(tuple(HASH_KINDS), "hash-list kind")]
    file: str
    max_distance: int | None = Field(None, ge=0)
    format: Annotated[str, _choice(LIST_FORMATS, "hash-list format")] = "plain"


FEED_USES = ("known-bad", "allow-list", "classified")


class FeedSettings(Section):
    """A peer's signed hash feed (``feeds:``; see docs/hash-sharing.md)."""

    url: str
    key: str
    use: Annotated[str, _choice(FEED_USES, "feed use")]
    every: Duration = timedelta(hours=1)
    max_age: Duration = timedelta(days=7)
    instance: str | None = None  # the publisher's host, when it is not the URL's

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        # said without the URL's password or token: the message may go to a log
        if not re.fullmatch(r"https?://\S+", v):
            from modbot.fetch.refusals import redact

            raise ValueError(
                f"a feed's url is http:// or https:// and has no spaces, not {redact(v)!r}"
            )
        return v

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        from modbot.feeds import KeyFileError, parse_public_key

        try:
            parse_public_key(v)
        except KeyFileError as exc:
            raise ValueError(str(exc)) from None
        return v.strip()

    @model_validator(mode="after")
    def _times(self) -> FeedSettings:
        if self.every.total_seconds() < 60:
            raise ValueError("every must be at least 1m: a feed changes when its admins act")
        if self.max_age.total_seconds() <= 0:
            raise ValueError("max_age must be more than zero")
        return self

    @property
    def publisher(self) -> str:
        """The instance the feed must name: ``instance``, else the URL's host[:port] as
        Lemmy names an instance: lower case, IDNA (``xn--``), no final dot, no port
        when it is the scheme's own (``https://lemmy.example:443/`` is lemmy.example)."""
        from urllib.parse import urlsplit

        if self.instance:
            return self.instance.lower()
        parts = urlsplit(self.url)
        host = (parts.hostname or "").rstrip(".")
        # IDNA as the fetcher and Lemmy encode a host (UTS 46: straße stays ß, not ss); a
        # name it does not take is compared as written (and refused as another's)
        if not host.isascii():
            from yarl import URL

            with contextlib.suppress(ValueError):  # UnicodeError too
                host = URL.build(scheme="https", host=host).raw_host or host
        try:
            port = parts.port
        except ValueError:
            port = None
        if ":" in host:
            host = f"[{host}]"  # an IPv6 address, as the instance names itself with a port
        if port is not None and port != {"http": 80, "https": 443}.get(parts.scheme.lower()):
            host = f"{host}:{port}"
        return host.lower()


class FetchSettings(Section):
    max_bytes: Size = 25_000_000
    # the name lookup, then the connection (glibc waits 5 s for a dead nameserver)
    connect_timeout: Duration = timedelta(seconds=10)
    read_timeout: Duration = timedelta(seconds=10)
    total_timeout: Duration = timedelta(seconds=30)
    concurrency: int = Field(8, ge=1, le=256)
    per_host: int = Field(2, ge=1, le=64)
    max_redirects: int = Field(3, ge=0, le=10)
    allow_hosts: Names = []
    max_images_per_item: int = Field(20, ge=1, le=1000)
    item_timeout: Duration = timedelta(seconds=45)
    max_bytes_held: Size = 200_000_000
    # an image link (not this instance's upload) downloaded this recently is not asked
    # again; after it, a conditional request (ETag / Last-Modified). 0s: always asked.
    recheck_after: DurationOrZero = timedelta(hours=1)
    # browser | modbot | a User-Agent of one's own (modbot.fetch.identity)
    user_agent: str = "browser"

    @field_validator("user_agent", mode="before")
    @classmethod
    def _user_agent(cls, v: Any) -> str:
        from modbot.fetch.identity import check_user_agent

        if not isinstance(v, str):
            return check_user_agent("")  # raises, saying what is accepted
        text = check_user_agent(v)
        words = ("browser", "modbot")
        if text not in words and not re.search(r"[\s/]", text):
            # one word near browser or modbot is a typo, not a User-Agent: sent as one,
            # every host would see neither a browser nor modbot
            hint = suggest(text.lower(), words)
            if hint:
                raise ValueError(
                    f"{text!r} is not browser or modbot{hint}; a User-Agent of your own "
                    'names a product and its version, like "ExampleBot/1.0"'
                )
        return text

    @field_validator("max_bytes")
    @classmethod
    def _max_bytes(cls, v: int) -> int:
        return _image_cap(v, "every image would be skipped as too_large")

    @model_validator(mode="after")
    def _bodies_fit(self) -> FetchSettings:
        if self.max_bytes_held < self.max_bytes:
            raise ValueError(
                f"max_bytes_held ({self.max_bytes_held:,} bytes) must be at least "
                f"max_bytes ({self.max_bytes:,}): one whole download must fit"
            )
        if self.item_timeout.total_seconds() <= 0:
            raise ValueError("item_timeout must be more than zero")
        return self

    @field_validator("allow_hosts")
    @classmethod
    def _host_entries(cls, entries: list[str]) -> list[str]:
        from modbot.fetch import parse_host_entry  # the one reading of an entry

        for entry in entries:
            parse_host_entry(entry)
        return entries


class LemmySettings(Section):
    requests_per_minute: int = Field(120, ge=1, le=100_000)
    lookback: Duration = timedelta(hours=6)
    timeout: Duration = timedelta(seconds=20)
    # which Lemmy API: auto asks the instance (nodeinfo); v3 = Lemmy 0.19, v4 = Lemmy 1.0
    api: Literal["auto", "v3", "v4"] = "auto"
    # Lemmy 1.0: reports marked violates_instance_rules (admins see them at once, the
    # community's moderators never); 0.19's reports always go to both
    report_to_admins: bool = False


class ScheduleSettings(Section):
    poll_every: Duration = timedelta(seconds=60)
    sweep_cron: str | None = "0 4 * * *"
    sweep_since: Annotated[timedelta | None, PlainValidator(_sweep_since)] = timedelta(days=30)
    # the walk of pict-rs' whole store (`sweep --store`), by the daemon: weekly, as it
    # reads every file; only with pict-rs' internal API (PICTRS_URL, PICTRS_API_KEY)
    store_sweep_cron: str | None = "0 5 * * 0"

    @field_validator("sweep_cron", "store_sweep_cron", mode="before")
    @classmethod
    def _cron(cls, v: Any) -> str | None:
        if v is None or v is False:  # YAML reads a bare `off` (or `no`, `false`) as false
            return None
        if not isinstance(v, str):
            raise ValueError(
                f"expected a cron line in quotes like '0 4 * * *', or off for no scheduled "
                f"sweep; got {describe(v)}"
            )
        if len(v.split()) != 5:
            raise ValueError(
                f"expected a cron line of 5 fields (minute hour day month "
                f"weekday), like '0 4 * * *', got {v!r}"
            )
        try:
            cron_trigger(v, "UTC")
        except ValueError as exc:
            raise ValueError(f"bad cron line {v!r}: {exc}") from None
        return v


_CRON_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(line: str, timezone: Any) -> Any:
    """A 5-field cron line as an APScheduler ``CronTrigger``, read as cron reads it.

    APScheduler's own ``from_crontab`` counts weekdays from Monday (0) where cron counts
    from Sunday (0 and 7): `0 4 * * 0` would sweep on Mondays. The weekday field is
    turned into day names instead. Raises ValueError for what cron would read otherwise."""
    from apscheduler.triggers.cron import CronTrigger  # only when a cron is given

    fields = line.split()
    if len(fields) != 5:
        raise ValueError("expected 5 fields: minute hour day month weekday")
    minute, hour, day, month, weekday = fields
    if not day.startswith("*") and not weekday.startswith("*"):
        # cron runs when either matches; APScheduler only when both do
        raise ValueError(
            "cron runs the job when either the day of the month or the weekday matches: "
            "give one of them and * for the other"
        )
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_cron_weekdays(weekday),
        timezone=timezone,
    )


def _cron_weekdays(field: str) -> str:
    """cron's weekday field (0-7, sun-sat, ranges, lists, steps) as APScheduler day names."""
    if field == "*":
        return field

    def day(text: str) -> int:
        if text.isdigit() and int(text) <= 7:
            return int(text)
        if text.lower() in _CRON_WEEKDAYS:
            return _CRON_WEEKDAYS.index(text.lower())
        raise ValueError(f"unknown weekday {text!r}: use 0-7 (0 and 7: Sunday) or sun-sat")

    days: set[int] = set()
    for part in field.split(","):
        span, slash, step_text = part.partition("/")
        if slash and not (step_text.isdigit() and int(step_text) > 0):
            raise ValueError(f"bad step in weekday {part!r}")
        step = int(step_text) if slash else 1
        if span == "*":
            first, last = 0, 7
        else:
            start, dash, end = span.partition("-")
            first = day(start)
            last = day(end) if dash else (7 if slash else first)
            if last < first:
                raise ValueError(
                    f"weekday range {span!r} runs backwards (Sunday is 0): list the days "
                    "instead, like fri,sat,sun"
                )
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(_CRON_WEEKDAYS[d] for d in sorted(days))


class SafetyValveSettings(Section):
    max_destructive_actions_per_hour: int = Field(20, ge=1)


def _actor_entry(what: str, sigil: str, path: str) -> AfterValidator:
    """An entry of exempt.users / exempt.communities that can match (``modbot.rules``
    compares it whole with an actor's URL, name@host or bare name): one name, no
    stray characters."""

    def check(entry: str) -> str:
        text = entry.strip()
        if not text:
            raise ValueError("an empty name: leave it out")
        if re.search(r"[\s,]", text):
            names = ", ".join(n for n in re.split(r"[\s,]+", text) if n)
            raise ValueError(
                f"{entry!r} names more than one: write a list, one name each: [{names}]"
            )
        if text.lower().startswith(("http://", "https://")):
            if text.endswith("/"):
                url = text.rstrip("/")
                m = re.fullmatch(rf"https?://([^/]+)/{path}/([^/]+)", url, re.I)
                other = f" (or {m.group(2)}@{m.group(1)})" if m else ""
                raise ValueError(f"an actor URL has no / at its end: write {url}{other}")
            return entry
        if not re.fullmatch(r"[^@/!]+(@[^@/!]+)?", text.removeprefix(sigil)):
            raise ValueError(
                f"{entry!r} never names a {what}: write name@instance, the actor URL "
                f"(https://instance/{path}/name), or a bare name for a local {what}"
            )
        return entry

    return AfterValidator(check)


UserNames = Annotated[
    list[Annotated[str, _actor_entry("user", "@", "u")]],
    BeforeValidator(_one_or_many),
    _none_to(list),
]
CommunityNames = Annotated[
    list[Annotated[str, _actor_entry("community", "!", "c")]],
    BeforeValidator(_one_or_many),
    _none_to(list),
]


class ExemptSettings(Section):
    moderators: bool = True
    users: UserNames = []
    communities: CommunityNames = []
    hash_lists: Names = []


# --- rules --------------------------------------------------------------------------------


def _given(v: Any) -> Any:
    # YAML reads a key with nothing after it (its list commented out, say) as null: taken
    # as "condition not given", the rule would match every image.
    if v is None:
        raise ValueError("has no value: give one, or leave the key out")
    return v


class _AllOf(Section):
    """A condition made of keys that must all hold: at least one key."""

    _given = field_validator("*", mode="before")(_given)

    @model_validator(mode="after")
    def _not_empty(self) -> _AllOf:
        if all(getattr(self, f) is None for f in type(self).model_fields):
            raise ValueError(f"give at least one of: {', '.join(type(self).model_fields)}")
        return self


class CommunityCondition(_AllOf):
    # the forms of exempt.communities: one that could never match is refused the same way
    name: (
        Annotated[
            list[Annotated[str, _actor_entry("community", "!", "c")]],
            BeforeValidator(_one_or_many),
            _NonEmpty,
        ]
        | None
    ) = None
    nsfw: bool | None = None
    local: bool | None = None


class AuthorCondition(_AllOf):
    local: bool | None = None
    bot_account: bool | None = None
    account_age: AgeTest | None = None
    moderator: bool | None = None


class Conditions(Section):
    type: (
        Annotated[
            list[Annotated[str, _choice(ITEM_TYPES, "item type")]],
            BeforeValidator(_one_or_many),
            _NonEmpty,
        ]
        | None
    ) = None
    found_in: (
        Annotated[
            list[Annotated[str, _choice(LOCATIONS, "image location")]],
            BeforeValidator(_one_or_many),
            _NonEmpty,
        ]
        | None
    ) = None
    labels: SomeNames | None = None
    scores: Annotated[dict[str, ScoreTest], _NonEmpty] | None = None
    unreadable: bool | None = None
    skipped: Annotated[bool | list[str], PlainValidator(_skip_reasons)] | None = None
    # the image could not be downloaded (a subset of `skipped`, named for what it means)
    fetch_failed: Annotated[bool | list[str], PlainValidator(_fetch_failures)] | None = None
    hash_list: SomeNames | None = None
    community: CommunityCondition | None = None
    author: AuthorCondition | None = None
    scope: Annotated[str, _choice(SCOPES, "scope")] | None = None

    _given = field_validator("*", mode="before")(_given)

    @field_validator("type")
    @classmethod
    def _any_alone(cls, v: list[str] | None) -> list[str] | None:
        # `any` is every type but incoming: beside others it swallows them, and the list
        # reads as narrower than it is
        if v and "any" in v and len(set(v)) > 1:
            others = ", ".join(t for t in v if t != "any")
            raise ValueError(
                f"`any` (every type but incoming) beside {others}: write `any` alone to "
                f"match every item, or [{others}] without it"
            )
        return v

    @model_validator(mode="after")
    def _not_empty(self) -> Conditions:
        if not any(getattr(self, f) is not None for f in type(self).model_fields):
            raise ValueError(
                "`if` has no condition: a rule needs at least one "
                "(use `type: any` to match every image on purpose)"
            )
        return self


class BanAction(Section):
    scope: Annotated[str, _choice(("site", "community"), "ban scope")] = "site"
    duration: Annotated[timedelta | None, PlainValidator(_ban_duration)]
    remove_data: bool = False
    reason: BanReason = DEFAULT_BAN_REASON  # `reason: true`: this default too
    uploader: bool = False  # also ban who uploaded the image, when another person did


class Actions(Section):
    remove: Reason = None
    purge_item: bool = False
    purge_image: bool = False
    delete_image: bool = False
    ban: BanAction | None = None
    report: ReportReason = None
    notify_admins: Message = None
    reject: bool = False  # at the upload gate only (rules of `type: incoming`)

    @model_validator(mode="after")
    def _not_empty(self) -> Actions:
        if not any(kind.asked(self) for kind in ACTIONS.values()):
            names = list(type(self).model_fields)
            raise ValueError(f"`then` has no action: use {', '.join(names[:-1])} or {names[-1]}")
        return self

    @property
    def is_removal(self) -> bool:
        return any(kind.removal and kind.asked(self) for kind in ACTIONS.values())


class Rule(Section):
    name: str = Field(min_length=1)
    priority: int = 0
    if_: Conditions = Field(alias="if")
    then: Actions
    moderators_exempt: bool | None = None

    @model_validator(mode="after")
    def _gate_rules(self) -> Rule:
        """A file at the upload gate is not a post yet: `reject` is the only action there,
        and the only place `reject` means anything."""
        types = self.if_.type or []
        if "incoming" in types:
            if len(types) > 1:
                raise ValueError(
                    "`type: incoming` (a file at the upload gate) cannot be mixed with other "
                    "types: write one rule for the gate and one for posts and comments"
                )
            others = [k for k in ACTIONS.values() if k.name != "reject" and k.asked(self.then)]
            if others or not self.then.reject:
                raise ValueError(
                    "a `type: incoming` rule acts at the upload gate, where no post, author "
                    "or community exists yet: its only action is `reject: true`"
                    + (f" (not {', '.join(k.name for k in others)})" if others else "")
                )
        elif self.then.reject:
            raise ValueError(
                "`reject` refuses a file at the upload gate (`modbot gate`): use it in a rule "
                "with `type: incoming`"
            )
        return self

    @property
    def is_removal(self) -> bool:
        return self.then.is_removal


def _on_timeout(v: Any) -> str:
    if v is True:  # YAML reads a bare `yes`/`on` as true
        v = "allow"
    if v not in ("allow", "reject"):
        raise ValueError(f"use allow (fail open) or reject (fail closed), got {v!r}")
    return v


# what pict-rs (PICTRS__MEDIA__EXTERNAL_VALIDATION_TIMEOUT) and Lemmy 0.19 (pictrs.
# upload_timeout, which also covers pict-rs' own work on the file) wait by default
UPLOAD_TIMEOUT_S = 30.0
# room under that timeout for what Lemmy's counts besides the gate: the file sent to
# pict-rs and its processing there (re-encoding, metadata stripped) before it asks
UPLOAD_ROOM_S = 10.0
# validation context: the `modbot gate --upload-timeout` the rules are read under
GATE_UPLOAD_TIMEOUT = "gate_upload_timeout"


class GateSettings(Section):
    """`modbot gate`: pict-rs' external validation (README "Stop it at the door",
    docs/rules.md#gate)."""

    # answer within this, from the request's start; pict-rs and Lemmy give up after 30 s
    # by default (`modbot gate --upload-timeout` holds it under what they are set to)
    budget: Duration = timedelta(seconds=10)
    # no verdict within the budget (classifier slow, unreachable or failing):
    # allow = store the file (the bot still checks it once it is posted), reject = refuse it
    on_timeout: Annotated[str, PlainValidator(_on_timeout)] = "allow"
    # pict-rs' own default media.max_file_size, 40, is in MiB (its MEGABYTES = 1024 * 1024):
    # 40 MB would refuse files of 40,000,001 to 41,943,040 bytes pict-rs takes
    max_bytes: Size = 40 * 1024**2
    report_every: Duration = timedelta(hours=1)  # admins told of fail-opens at most this often

    @field_validator("max_bytes")
    @classmethod
    def _max_bytes(cls, v: int) -> int:
        # pict-rs' media.max_file_size is in MiB: a bare 40 copied from it means 40MiB
        return _image_cap(v, "every upload would be refused", unit="MiB")

    @field_validator("budget")
    @classmethod
    def _budget(cls, v: timedelta, info: ValidationInfo) -> timedelta:
        if (info.context or {}).get(GATE_UPLOAD_TIMEOUT) is not None:
            # read by `modbot gate`: it holds the budget under its own --upload-timeout
            # (raised past 30 s too), in that option's words (upload_timeout_problem)
            if v <= timedelta(0):
                raise ValueError(f"budget {v.total_seconds():g}s: give more than 0s")
            return v
        # the gate's numbers, so this message and its own checks agree
        if not timedelta(0) < v < timedelta(seconds=UPLOAD_TIMEOUT_S):
            raise ValueError(
                f"budget {v.total_seconds():g}s: give more than 0s and less than "
                f"{UPLOAD_TIMEOUT_S:g}s, what pict-rs (PICTRS__MEDIA__EXTERNAL_VALIDATION_"
                "TIMEOUT) and Lemmy (pictrs.upload_timeout in lemmy.hjson) wait for an upload "
                f"by default; {UPLOAD_TIMEOUT_S - UPLOAD_ROOM_S:g}s or less leaves room for "
                "pict-rs' own work on the file, which Lemmy's time counts too. With either "
                "set otherwise (both raised, for a longer budget), give the shorter to "
                "`modbot gate --upload-timeout`: the gate holds the budget under that instead"
            )
        return v


# A top-level key starting so holds blocks the rules share by YAML anchor, no setting
# (`x-actions: {takedown: &takedown {...}}`, as Docker Compose's `x-` keys; checks.validate)
SHARED_PREFIX = "x-"


class PolicyFile(Section):
    classifier: Annotated[ClassifierSettings, _none_to(dict)] = ClassifierSettings()
    concepts: Annotated[dict[str, ConceptSettings], _none_to(dict)] = {}
    hash_lists: Annotated[dict[str, HashListSettings], _none_to(dict)] = {}
    feeds: Annotated[dict[str, FeedSettings], _none_to(dict)] = {}
    fetch: Annotated[FetchSettings, _none_to(dict)] = FetchSettings()
    lemmy: Annotated[LemmySettings, _none_to(dict)] = LemmySettings()
    schedule: Annotated[ScheduleSettings, _none_to(dict)] = ScheduleSettings()
    safety_valve: Annotated[SafetyValveSettings, _none_to(dict)] = SafetyValveSettings()
    exempt: Annotated[ExemptSettings, _none_to(dict)] = ExemptSettings()
    gate: Annotated[GateSettings, _none_to(dict)] = GateSettings()
    rules: Annotated[list[Rule], _none_to(list)] = []

    @field_validator("concepts")
    @classmethod
    def _concepts_a_worker_takes(
        cls, concepts: dict[str, ConceptSettings], info: ValidationInfo
    ) -> dict[str, ConceptSettings]:
        # only with classifier.remote: a local classifier takes any number and length
        classifier = info.data.get("classifier")
        why = _worker_refuses(concepts) if classifier and classifier.remote else None
        if why:
            raise ValueError(f"{why} (classifier.remote)")
        return concepts
