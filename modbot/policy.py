"""The rules.yaml schema and its validation, every problem as `FILE:LINE: message`.

The YAML is composed into nodes so each value keeps its line; pydantic validates the
data, and each pydantic error's `loc` is walked back to the node it came from. Checks
that need the whole file (labels of custom concepts, hash-list names, placeholders,
the hash-list files themselves) run after, with the same line map. Matching lives in
`modbot.rules`; this module only says what a valid policy is.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    field_validator,
    model_validator,
)

from classifier.concepts import DANBOORU_SCORES
from modbot.durations import (
    Comparison,
    parse_duration,
    parse_duration_comparison,
    parse_number_comparison,
    parse_size,
)
from modbot.errors import PolicyError, Problem, UnusableFile
from modbot.hashes import HashList, HashListError

BUILTIN_LABELS = ("csam", "underage", "nsfw", "anime")
# DeepDanbooru's scores (only in verdicts where it ran), and `danbooru:<tag>` for its tags
DANBOORU_TAG_SCORE = "danbooru:"
BUILTIN_SCORES = ("csam", "underage", "nsfw", "anime", "subject", *DANBOORU_SCORES)
ITEM_TYPES = ("post", "comment", "upload", "any")
LOCATIONS = ("post_url", "thumbnail", "body", "comment", "upload")
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
    "phash",
    "skipped",
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
)
DEFAULT_REMOVE_REASON = "Removed by modbot: {{rule}}"
DEFAULT_REPORT_REASON = "modbot: {{rule}}"
_PLACEHOLDER = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_CONCEPT_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


# --- problems -------------------------------------------------------------------------


def suggest(word: Any, choices: Any) -> str:
    """`" (did you mean 'remove'?)"` when `word` looks like a typo of one of `choices`."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --- field types ------------------------------------------------------------------------


def _none_to(empty):
    return BeforeValidator(lambda v: empty() if v is None else v)


def _one_or_many(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


def _choice(allowed: tuple[str, ...], what: str):
    def check(v: Any) -> str:
        if not isinstance(v, str) or v not in allowed:
            hint = suggest(v, allowed) if isinstance(v, str) else ""
            raise ValueError(f"unknown {what} {v!r}{hint}; use one of: {', '.join(allowed)}")
        return v

    return PlainValidator(check)


def _reason(default: str):
    def check(v: Any) -> str | None:
        if v is True:
            return default
        if v is None or v is False:
            return None
        if not isinstance(v, str) or not v.strip():
            raise ValueError(f"expected a reason in quotes (or true for the default), got {v!r}")
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
        return parse_duration(v)
    except ValueError as exc:
        raise ValueError(f"{exc}, or permanent") from None


def _sweep_since(v: Any) -> timedelta | None:
    return None if v == "all" else _duration(v)


def _duration(v: Any) -> timedelta:
    return parse_duration(v)


def _skip_reasons(v: Any) -> bool | list[str]:
    v = _one_or_many(v)
    if v is True:
        return True
    if v is False:
        raise ValueError(
            "`skipped: false` matches nothing a rule could act on (only checked "
            "images have labels); leave the condition out"
        )
    if not isinstance(v, list) or not v:
        raise ValueError(f"expected true or reasons ({', '.join(SKIP_REASONS)}), got {v!r}")
    for reason in v:
        if not isinstance(reason, str) or not (
            reason in SKIP_REASONS or re.fullmatch(r"http_[1-5]\d\d", reason)
        ):
            hint = suggest(reason, SKIP_REASONS) if isinstance(reason, str) else ""
            raise ValueError(
                f"unknown skip reason {reason!r}{hint}; use true (any) or: "
                f"{', '.join(SKIP_REASONS)}, http_<status>"
            )
    return v


Duration = Annotated[timedelta, PlainValidator(_duration)]
Size = Annotated[int, PlainValidator(parse_size)]
ScoreTest = Annotated[Comparison, PlainValidator(parse_number_comparison)]
AgeTest = Annotated[Comparison, PlainValidator(parse_duration_comparison)]
Reason = Annotated[str | None, _reason(DEFAULT_REMOVE_REASON)]
ReportReason = Annotated[str | None, _reason(DEFAULT_REPORT_REASON)]
Message = Annotated[str | None, PlainValidator(_message)]
Names = Annotated[list[str], BeforeValidator(_one_or_many), _none_to(list)]
# In a condition an empty list would match nothing (or, read carelessly, everything).
_NonEmpty = Field(min_length=1)
SomeNames = Annotated[list[str], BeforeValidator(_one_or_many), _NonEmpty]


class Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, arbitrary_types_allowed=True
    )


# --- settings sections ------------------------------------------------------------------


def _worker_url(v: Any) -> str:
    from classifier.remote import check_worker_url  # no torch: the remote engine is httpx

    if not isinstance(v, str):
        raise ValueError(f"expected a worker URL like https://gpu.example:8095, got {_describe(v)}")
    return check_worker_url(v)


def _remote(v: Any) -> Any:
    # `remote: URL` and `remote: [URL, ...]` are short for `remote: {urls: ...}`
    return {"urls": v} if isinstance(v, (str, list)) else v


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

    @field_validator("decode_memory")
    @classmethod
    def _decode_memory(cls, v: int) -> int:
        if v < 50_000_000:
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


class HashListSettings(Section):
    kind: Annotated[str, _choice(("sha256", "phash"), "hash-list kind")]
    file: str
    max_distance: int | None = Field(None, ge=0, le=16)


class FetchSettings(Section):
    max_bytes: Size = 25_000_000
    connect_timeout: Duration = timedelta(seconds=5)
    read_timeout: Duration = timedelta(seconds=10)
    total_timeout: Duration = timedelta(seconds=30)
    concurrency: int = Field(8, ge=1, le=256)
    per_host: int = Field(2, ge=1, le=64)
    max_redirects: int = Field(3, ge=0, le=10)
    allow_hosts: Names = []
    max_images_per_item: int = Field(20, ge=1, le=1000)
    item_timeout: Duration = timedelta(seconds=45)
    max_bytes_held: Size = 200_000_000

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


class ScheduleSettings(Section):
    poll_every: Duration = timedelta(seconds=60)
    sweep_cron: str | None = "0 4 * * *"
    sweep_since: Annotated[timedelta | None, PlainValidator(_sweep_since)] = timedelta(days=30)

    @field_validator("sweep_cron")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from apscheduler.triggers.cron import CronTrigger  # only when a cron is given

        if len(v.split()) != 5:
            raise ValueError(
                f"expected a cron line of 5 fields (minute hour day month "
                f"weekday), like '0 4 * * *', got {v!r}"
            )
        try:
            CronTrigger.from_crontab(v, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"bad cron line {v!r}: {exc}") from None
        return v


class SafetyValveSettings(Section):
    max_destructive_actions_per_hour: int = Field(20, ge=1)


class ExemptSettings(Section):
    moderators: bool = True
    users: Names = []
    communities: Names = []
    hash_lists: Names = []


# --- rules --------------------------------------------------------------------------------


class _AllOf(Section):
    """A condition made of keys that must all hold: at least one key."""

    @model_validator(mode="after")
    def _not_empty(self) -> _AllOf:
        if all(getattr(self, f) is None for f in type(self).model_fields):
            raise ValueError(f"give at least one of: {', '.join(type(self).model_fields)}")
        return self


class CommunityCondition(_AllOf):
    name: SomeNames | None = None
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
    hash_list: SomeNames | None = None
    community: CommunityCondition | None = None
    author: AuthorCondition | None = None
    scope: Annotated[str, _choice(SCOPES, "scope")] | None = None

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
    reason: Reason = "{{rule}}"


class Actions(Section):
    remove: Reason = None
    purge_item: bool = False
    purge_image: bool = False
    ban: BanAction | None = None
    report: ReportReason = None
    notify_admins: Message = None

    @model_validator(mode="after")
    def _not_empty(self) -> Actions:
        if not self.is_removal and self.report is None and self.notify_admins is None:
            raise ValueError(
                "`then` has no action: use remove, purge_item, purge_image, "
                "ban, report or notify_admins"
            )
        return self

    @property
    def is_removal(self) -> bool:
        return bool(self.remove or self.purge_item or self.purge_image or self.ban)


class Rule(Section):
    name: str = Field(min_length=1)
    priority: int = 0
    if_: Conditions = Field(alias="if")
    then: Actions
    moderators_exempt: bool | None = None

    @property
    def is_removal(self) -> bool:
        return self.then.is_removal


class PolicyFile(Section):
    classifier: Annotated[ClassifierSettings, _none_to(dict)] = ClassifierSettings()
    concepts: Annotated[dict[str, ConceptSettings], _none_to(dict)] = {}
    hash_lists: Annotated[dict[str, HashListSettings], _none_to(dict)] = {}
    fetch: Annotated[FetchSettings, _none_to(dict)] = FetchSettings()
    lemmy: Annotated[LemmySettings, _none_to(dict)] = LemmySettings()
    schedule: Annotated[ScheduleSettings, _none_to(dict)] = ScheduleSettings()
    safety_valve: Annotated[SafetyValveSettings, _none_to(dict)] = SafetyValveSettings()
    exempt: Annotated[ExemptSettings, _none_to(dict)] = ExemptSettings()
    rules: Annotated[list[Rule], _none_to(list)] = []


# --- YAML with line numbers -----------------------------------------------------------------


@dataclass
class Lines:
    """Path in the data (`("rules", 0, "then", "ban")`) -> line of its value and of its key."""

    value: dict[tuple, int] = field(default_factory=dict)
    key: dict[tuple, int] = field(default_factory=dict)

    def find(self, loc: tuple, key: bool = False) -> int:
        path: tuple = ()
        for element in loc:
            if path + (element,) in self.value:
                path = path + (element,)
        if key and path in self.key:
            return self.key[path]
        return self.value.get(path, 1)


class _Constructor(yaml.constructor.SafeConstructor):
    pass


# Bounds on what a rules file may make the loader do, so that any file is checked in
# about a second: the shipped file has 7 KB, about 300 values, nested 6 deep; a
# thousand rules take about 80 KB and 10,000 values.
MAX_RULES_BYTES = 200_000
MAX_DEPTH = 40
MAX_VALUES = 20_000


class _Refused(yaml.composer.ComposerError):
    """Well-formed YAML that the bounds below refuse."""


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer refuses, with the line, what would blow up later:
    more than MAX_VALUES values, aliases expanded ("billion laughs"), an alias
    inside the value it names (a loop), nesting deeper than MAX_DEPTH (also through
    aliases). It counts the values as the data would have them, aliases expanded,
    without building anything: `_to_data` then walks a bounded tree."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._values = 0  # values so far, aliases expanded
        self._depth = 0
        self._open: set[str] = set()  # anchors whose value is being composed
        self._measure: dict[str, tuple[int, int]] = {}  # anchor -> (values, depth)
        self._deepest = 0

    def _refuse(self, message: str, mark: Any) -> None:
        raise _Refused(None, None, message, mark)

    def _count(self, values: int, depth: int, mark: Any) -> None:
        self._values += values
        self._deepest = max(self._deepest, depth)
        if self._values > MAX_VALUES:
            self._refuse(
                f"more than {MAX_VALUES} values (YAML aliases *name counted as "
                'the values they repeat; a "billion laughs" file?): a rules file '
                "needs far fewer",
                mark,
            )
        if depth > MAX_DEPTH:
            self._refuse(f"nested more than {MAX_DEPTH} levels deep", mark)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                self._refuse(
                    f"the alias *{event.anchor} is inside the value it names (a loop)",
                    event.start_mark,
                )
            if event.anchor in self._measure:
                values, depth = self._measure[event.anchor]
                self._count(values, self._depth + depth, event.start_mark)
            return super().compose_node(parent, index)
        anchor = event.anchor
        before, deepest, self._deepest = self._values, self._deepest, self._depth + 1
        if anchor is not None:
            self._open.add(anchor)
        self._depth += 1
        self._count(1, self._depth, event.start_mark)
        node = super().compose_node(parent, index)
        self._depth -= 1
        if anchor is not None:
            self._open.discard(anchor)
            self._measure[anchor] = (self._values - before, self._deepest - self._depth)
        self._deepest = max(deepest, self._deepest)
        return node


def _construct(node: yaml.Node, problems: list, file: str) -> Any:
    """A scalar (or a key) as Python data; a value YAML reads but Python cannot hold
    (a date like 2001-13-45, an integer of 5000 digits) is a problem, not a traceback."""
    try:
        return _Constructor().construct_object(node, deep=True)
    except yaml.constructor.ConstructorError:
        raise
    except (ValueError, TypeError, OverflowError) as exc:
        problems.append(
            Problem(
                file,
                node.start_mark.line + 1,
                f"cannot read the value {_describe(node.value)}: {exc}",
            )
        )
        return node.value if isinstance(node.value, str) else None


def _to_data(node: yaml.Node, path: tuple, lines: Lines, problems: list, file: str) -> Any:
    lines.value[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        merged: list[dict] = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults`
                value = _to_data(value_node, path, lines, problems, file)
                for part in value if isinstance(value, list) else [value]:
                    if isinstance(part, dict):
                        merged.append(part)
                    else:
                        problems.append(
                            Problem(
                                file,
                                key_node.start_mark.line + 1,
                                f"`<<:` merges a mapping (an &anchor), not {_describe(part)}",
                            )
                        )
                lines.value[path] = node.start_mark.line + 1
                continue
            key = _construct(key_node, problems, file)
            line = key_node.start_mark.line + 1
            if not isinstance(key, (str, int, float, bool)) or key is None:
                problems.append(Problem(file, line, f"a key must be a plain word, got {key!r}"))
                continue
            if key in out:
                first = lines.key[path + (key,)]
                problems.append(
                    Problem(file, line, f"duplicate key {key!r} (first at line {first})")
                )
                continue
            lines.key[path + (key,)] = line
            out[key] = _to_data(value_node, path + (key,), lines, problems, file)
        for part in merged:  # explicit keys win over merged ones
            for key, value in part.items():
                out.setdefault(key, value)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_data(n, path + (i,), lines, problems, file) for i, n in enumerate(node.value)]
    return _construct(node, problems, file)


def read_yaml(text: str, file: str) -> tuple[Any, Lines, list[Problem]]:
    """Parse YAML keeping lines. Syntax errors come back as problems with their line."""
    lines, problems = Lines(), []
    try:
        node = yaml.compose(text, Loader=_BoundedLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = exc.problem or str(exc)
        context = f" ({exc.context})" if exc.context else ""
        source = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
        hint = ""
        if "'\\t'" in what:
            hint = "; indent with spaces, not tabs"
        elif "{{" in source:
            hint = '; text with {{placeholders}} must be in quotes: "..."'
        elif re.search(r":\s*[<>]", source):
            hint = '; put comparisons in quotes: "> 0.02"'
        kind = "YAML error" if isinstance(exc, _Refused) else "YAML syntax error"
        return None, lines, [Problem(file, line, f"{kind}: {what}{context}{hint}")]
    except yaml.YAMLError as exc:
        return None, lines, [Problem(file, 1, f"YAML error: {exc}")]
    if node is None:
        return None, lines, [Problem(file, 1, "the file is empty: it needs at least `rules:`")]
    try:
        data = _to_data(node, (), lines, problems, file)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        problems.append(Problem(file, mark.line + 1 if mark else 1, f"YAML error: {exc.problem}"))
        return None, lines, problems
    if not isinstance(data, dict):
        problems.append(
            Problem(
                file,
                lines.find(()),
                "the top level must be a mapping "
                "(classifier:, hash_lists:, rules:, ...), not a "
                f"{type(data).__name__}",
            )
        )
        return None, lines, problems
    return data, lines, problems


# --- pydantic errors -> readable messages -------------------------------------------------------


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif (
            origin is Union
            or (origin is not None and str(origin) == "types.UnionType")
            or type(tp).__name__ == "UnionType"
        ):
            tp = next(a for a in get_args(tp) if a is not type(None))
        else:
            return tp


def _step(tp: Any, element: Any) -> Any:
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, info in tp.model_fields.items():
            if element in (name, info.alias):
                return info.annotation
        return None
    origin = get_origin(tp)
    if origin is list and isinstance(element, int):
        return get_args(tp)[0]
    if origin is dict:
        return get_args(tp)[1]
    return None


def allowed_keys(loc: tuple) -> list[str]:
    """The keys the schema allows in the mapping at `loc` (for "did you mean")."""
    tp: Any = PolicyFile
    for element in loc:
        tp = _step(tp, element)
        if tp is None:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [info.alias or name for name, info in tp.model_fields.items()]
    return []


def _describe(v: Any) -> str:
    if v is None:
        return "nothing"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


_EXPECTED = {
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "list_type": "a list",
    "dict_type": "a mapping (key: value lines)",
    "model_type": "a mapping (key: value lines)",
    "model_attributes_type": "a mapping (key: value lines)",
}


def where(loc: tuple, data: Any) -> str:
    """A readable place: `rule 'nsfw outside nsfw communities': then.report`."""
    parts = [
        p for p in loc if isinstance(p, (str, int)) and not str(p).startswith(("[", "function"))
    ]
    if len(parts) >= 2 and parts[0] == "rules" and isinstance(parts[1], int):
        try:
            name = data["rules"][parts[1]].get("name")
        except (AttributeError, IndexError, KeyError, TypeError):
            name = None
        head = f"rule {name!r}" if isinstance(name, str) else f"rule #{parts[1] + 1}"
        rest = ".".join(str(p) for p in parts[2:])
        return f"{head}: {rest}" if rest else head
    return ".".join(str(p) for p in parts)


def error_message(err: dict, data: Any) -> str:
    kind, loc, given = err["type"], tuple(err["loc"]), err.get("input")
    if kind == "extra_forbidden":
        key = loc[-1]
        allowed = allowed_keys(loc[:-1])
        hint = suggest(key, allowed)
        if key == "if_":
            hint = " (write `if:`)"
        place = where(loc[:-1], data)
        tail = hint or (f"; allowed here: {', '.join(allowed)}" if allowed else "")
        return f"unknown key {key!r}{' in ' + place if place else ''}{tail}"
    place = where(loc, data)
    prefix = f"{place}: " if place else ""
    if kind == "missing":
        return f"{where(loc[:-1], data) or 'the file'}: missing {loc[-1]!r}"
    if kind == "too_short":
        return f"{prefix}is empty: list at least one, or leave the condition out"
    if kind in ("value_error", "assertion_error"):
        return prefix + str(err["ctx"]["error"])
    if kind in _EXPECTED:
        return f"{prefix}expected {_EXPECTED[kind]}, got {_describe(given)}"
    return f"{prefix}{err['msg']} (got {_describe(given)})"


# Where each kind of item can have its images.
_FOUND_IN = {
    "post": {"post_url", "thumbnail", "body"},
    "comment": {"comment"},
    "upload": {"upload"},
}


def never_acts(rule: Rule) -> str | None:
    """Why `rule` cannot act on any image, for a check-rules warning; None if it can."""
    c = rule.if_
    kinds = set(ITEM_TYPES[:3]) if not c.type or "any" in c.type else set(c.type)
    if c.found_in:
        kinds = {k for k in kinds if _FOUND_IN[k] & set(c.found_in)}
        if not kinds:
            return f"no {' or '.join(c.type or ['item'])} has images in {', '.join(c.found_in)}"
    if c.unreadable and (c.labels or c.scores):
        return "an unreadable image has no labels or scores"
    if c.skipped and (c.labels or c.scores or c.unreadable is not None or c.hash_list):
        return "a skipped image was not checked: it has no labels, scores or hash"
    if kinds == {"upload"} and c.community:
        return "an upload has no community"
    if kinds == {"upload"} and not rule.is_removal and not rule.then.notify_admins:
        return "an upload is not in a community, so it cannot be reported"
    if c.author and c.author.moderator and rule.moderators_exempt:
        return "it is about moderators but exempts them (moderators_exempt: true)"
    return None


def _names(section: Any) -> list[str]:
    return [k for k in section if isinstance(k, str)] if isinstance(section, dict) else []


# --- cross-checks ------------------------------------------------------------------------------


def _private_host(host: str) -> bool:
    """localhost, a private or loopback address, or a one-label name (a container's)."""
    import ipaddress

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return (
            host == "localhost" or host.endswith((".local", ".internal", ".lan")) or "." not in host
        )
    return address.is_private or address.is_loopback or address.is_link_local


@dataclass
class Validated:
    """What `validate` returns: the parsed file, its loaded hash lists, and its problems."""

    model: PolicyFile | None
    hash_lists: dict[str, HashList]
    problems: list[Problem]
    lines: Lines
    base_dir: Path

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.warning]


def validate(text: str, file: str, base_dir: Path) -> Validated:
    """Everything check-rules checks. `file` is how the file is named in messages."""
    data, lines, problems = read_yaml(text, file)
    if data is None:
        return Validated(None, {}, problems, lines, base_dir)
    salvaged, rule_index = data, list(range(len(data.get("rules") or [])))
    try:
        model = PolicyFile.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        for err in errors:
            loc = tuple(err["loc"])
            line = lines.find(loc, key=err["type"] == "extra_forbidden")
            problems.append(Problem(file, line, error_message(err, data)))
        # Check the rest too, so one run of check-rules shows every problem: drop what
        # failed (the smallest part that holds the error) and validate again.
        model = None
        for _ in range(6):
            salvaged, rule_index = _prune(salvaged, rule_index, [tuple(e["loc"]) for e in errors])
            if salvaged is None:
                return Validated(None, {}, _sorted(problems), lines, base_dir)
            try:
                model = PolicyFile.model_validate(salvaged)
                break
            except ValidationError as again:
                errors = again.errors(include_url=False)
        if model is None:
            return Validated(None, {}, _sorted(problems), lines, base_dir)
    checker = _Checker(model, data, lines, file, base_dir, rule_index)
    hash_lists = checker.run()
    problems = _sorted(problems + checker.problems)
    if any(not p.warning for p in problems):
        return Validated(None, hash_lists, problems, lines, base_dir)
    return Validated(model, hash_lists, problems, lines, base_dir)


def _sorted(problems: list[Problem]) -> list[Problem]:
    first = problems[0].file if problems else None
    main = [p for p in problems if p.file == first]
    return sorted(main, key=lambda p: p.line) + [p for p in problems if p.file != first]


_GONE = object()


def _prune(data: dict, rule_index: list[int], locs: list[tuple]) -> tuple[dict | None, list[int]]:
    """`data` less the value at each `loc` (a pydantic error's place; elements that are not
    in the data, like union tags, are skipped). Returns the data and, for each rule kept,
    its index in the file; None when the error is about the whole file."""
    data = copy.deepcopy(data)
    for loc in locs:
        parent, key, node = None, None, data
        for element in loc:
            if (isinstance(node, dict) and element in node) or (
                isinstance(node, list) and isinstance(element, int) and 0 <= element < len(node)
            ):
                parent, key, node = node, element, node[element]
        if parent is None:
            return None, rule_index
        parent[key] = _GONE
    rules = data.get("rules")
    if isinstance(rules, list):
        rule_index = [i for i, r in zip(rule_index, rules) if r is not _GONE]
    return _clean(data), rule_index


def _clean(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _clean(v) for k, v in node.items() if v is not _GONE}
    if isinstance(node, list):
        return [_clean(v) for v in node if v is not _GONE]
    return node


# Where each kind of item can have its images.
class _Checker:
    """Checks that need the whole file: names that refer to other sections, hash files."""

    def __init__(
        self,
        model: PolicyFile,
        data: dict,
        lines: Lines,
        file: str,
        base_dir: Path,
        rule_index: list[int],
    ):
        self.model, self.data, self.lines, self.file, self.base_dir = (
            model,
            data,
            lines,
            file,
            base_dir,
        )
        self.rule_index = rule_index
        self.problems: list[Problem] = []
        # Names as written, also those of entries that failed validation: a reference to
        # a broken concept or list is not a second mistake.
        concepts = set(_names(data.get("concepts"))) | set(model.concepts)
        self.list_names = list(dict.fromkeys([*model.hash_lists, *_names(data.get("hash_lists"))]))
        self.labels = set(BUILTIN_LABELS) | concepts
        self.scores = set(BUILTIN_SCORES) | concepts

    def add(self, loc: tuple, message: str, key: bool = False, warning: bool = False) -> None:
        self.problems.append(Problem(self.file, self.lines.find(loc, key=key), message, warning))

    def run(self) -> dict[str, HashList]:
        self.check_concepts()
        hash_lists = self.load_hash_lists()
        for name in self.model.exempt.hash_lists:
            if name not in self.list_names:
                self.add(("exempt", "hash_lists"), self.unknown_list(name))
        self.check_checkpoint()
        self.check_remote()
        self.check_rule_names()
        for i, rule in zip(self.rule_index, self.model.rules):
            self.check_rule(i, rule)
        if not self.model.rules and not self.rule_index and not self.data.get("rules"):
            self.add(
                ("rules",), "no rules: modbot will record verdicts but never act", warning=True
            )
        return hash_lists

    def check_concepts(self) -> None:
        for name in self.model.concepts:
            loc = ("concepts", name)
            if name in BUILTIN_LABELS or name in BUILTIN_SCORES or name == "unreadable":
                self.add(
                    loc,
                    f"concept {name!r} has the name of a built-in label or score; "
                    "choose another name",
                    key=True,
                )
            elif not _CONCEPT_NAME.fullmatch(str(name)):
                self.add(
                    loc,
                    f"concept name {name!r}: use lowercase letters, digits and _ "
                    "(it becomes a label and a score name)",
                    key=True,
                )

    def load_hash_lists(self) -> dict[str, HashList]:
        loaded = {}
        for name, spec in self.model.hash_lists.items():
            loc = ("hash_lists", name)
            if spec.kind == "sha256" and spec.max_distance is not None:
                self.add(
                    loc + ("max_distance",),
                    f"hash list {name!r}: max_distance applies "
                    "only to kind: phash (a SHA-256 matches exactly or not at all)",
                )
            path = Path(spec.file) if os.path.isabs(spec.file) else self.base_dir / spec.file
            shown = (
                spec.file
                if os.path.isabs(spec.file)
                else os.path.join(os.path.dirname(self.file), spec.file)
            )
            distance = 6 if spec.max_distance is None else spec.max_distance
            try:
                loaded[name] = HashList.load(path, spec.kind, distance, name=name, shown_as=shown)
            except FileNotFoundError:
                self.add(
                    loc + ("file",),
                    f"hash list {name!r}: no such file {shown!r} "
                    "(a relative path is relative to the rules file)",
                )
            except UnusableFile as exc:
                if exc.line is None:  # about the file as a whole: where the rules name it
                    self.add(loc + ("file",), f"hash list {name!r}: {shown!r} is {exc}")
                else:
                    self.problems.append(Problem(shown, exc.line, f"hash list {name!r}: {exc}"))
            except HashListError as exc:
                self.problems += [Problem(f, line, m) for f, line, m in exc.problems]
            except OSError as exc:
                self.add(
                    loc + ("file",),
                    f"hash list {name!r}: cannot read {shown!r}: {exc.strerror or exc}",
                )
        return loaded

    def check_checkpoint(self) -> None:
        checkpoint = self.model.classifier.checkpoint
        if checkpoint is None or self.model.classifier.remote is not None:
            return
        path = Path(checkpoint) if os.path.isabs(checkpoint) else self.base_dir / checkpoint
        if not path.exists():
            self.add(
                ("classifier", "checkpoint"),
                f"classifier checkpoint {checkpoint!r} "
                "does not exist here (the model will not load on this machine)",
                warning=True,
            )

    def check_remote(self) -> None:
        c = self.model.classifier
        if c.remote is None:
            return
        given = sorted(
            k
            for k in (
                "model",
                "pretrained",
                "checkpoint",
                "device",
                "batch_size",
                "allow_random_weights",
            )
            if k in c.model_fields_set
        )
        if given:
            self.add(
                ("classifier", given[0]),
                f"classifier.{', classifier.'.join(given)}: not "
                "used with classifier.remote (the workers load their own model)",
                key=True,
                warning=True,
            )
        urls = self.data["classifier"]["remote"]
        for i, url in enumerate(c.remote.urls):
            host = urlsplit(url).hostname or ""
            if url.startswith("http://") and not _private_host(host):
                loc = ("classifier", "remote") + (
                    (i,)
                    if isinstance(urls, list)
                    else ("urls", i)
                    if isinstance(urls, dict)
                    else ()
                )
                self.add(
                    loc,
                    f"worker {url} is plain http:// on a public address: the "
                    "token and every image travel unencrypted; use https:// (a TLS proxy "
                    "in front of the worker)",
                    warning=True,
                )

    def unknown_list(self, name: str) -> str:
        known = self.list_names
        return (
            f"unknown hash list {name!r}{suggest(name, known)}; defined in hash_lists: "
            f"{', '.join(known) or 'none'}"
        )

    def check_rule_names(self) -> None:
        rules = self.data.get("rules")
        seen: dict[str, int] = {}
        for i, rule in enumerate(rules if isinstance(rules, list) else []):
            name = rule.get("name") if isinstance(rule, dict) else None
            if not isinstance(name, str):
                continue
            line = self.lines.find(("rules", i, "name"))
            if name in seen:
                self.add(
                    ("rules", i, "name"),
                    f"duplicate rule name {name!r} (first at line "
                    f"{seen[name]}): names must be unique, they appear in the audit log",
                )
            seen.setdefault(name, line)

    def check_rule(self, i: int, rule: Rule) -> None:
        at = ("rules", i)
        cond = rule.if_
        for j, label in enumerate(cond.labels or []):
            if label not in self.labels:
                hint = suggest(label, self.labels)
                if label == "unreadable":
                    hint = " (unreadable is a condition of its own: `unreadable: true`)"
                self.add(
                    at + ("if", "labels", j),
                    f"unknown label {label!r}{hint}; labels are "
                    f"{', '.join(sorted(self.labels))} (custom ones come from concepts:)",
                )
        for name in cond.scores or {}:
            if name not in self.scores and not (
                name.startswith(DANBOORU_TAG_SCORE) and len(name) > len(DANBOORU_TAG_SCORE)
            ):
                self.add(
                    at + ("if", "scores", name),
                    f"unknown score {name!r}"
                    f"{suggest(name, self.scores)}; scores are "
                    f"{', '.join(sorted(self.scores - set(DANBOORU_SCORES)))}; DeepDanbooru's: "
                    f"{', '.join(DANBOORU_SCORES)}, {DANBOORU_TAG_SCORE}TAG",
                    key=True,
                )
        for j, name in enumerate(cond.hash_list or []):
            if name not in self.list_names:
                self.add(at + ("if", "hash_list", j), self.unknown_list(name))
            elif name in self.model.exempt.hash_lists:
                self.add(
                    at + ("if", "hash_list", j),
                    f"hash list {name!r} is also an "
                    "allow-list in exempt.hash_lists, so this rule can never act",
                    warning=True,
                )
        self.check_placeholders(at, rule)
        if rule.then.ban and not cond.hash_list and (cond.labels or cond.scores):
            self.add(
                at + ("then", "ban"),
                f"rule {rule.name!r} bans on the classifier alone; "
                "it has false positives (see docs/rules.md), consider a report or "
                "removal first",
                warning=True,
            )
        why = never_acts(rule)
        if why:
            self.add(at + ("if",), f"rule {rule.name!r} can never act: {why}", warning=True)

    def check_placeholders(self, at: tuple, rule: Rule) -> None:
        texts = [
            (("then", "remove"), rule.then.remove),
            (("then", "report"), rule.then.report),
            (("then", "notify_admins"), rule.then.notify_admins),
        ]
        if rule.then.ban:
            texts.append((("then", "ban", "reason"), rule.then.ban.reason))
        known = [*PLACEHOLDERS, *(f"scores.{s}" for s in sorted(self.scores))]
        for loc, text in texts:
            for name in _PLACEHOLDER.findall(text or ""):
                if name not in known:
                    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                    hint = f" (did you mean {{{{{close[0]}}}}}?)" if close else ""
                    self.add(
                        at + loc,
                        f"unknown placeholder {{{{{name}}}}}{hint}; "
                        f"known: {', '.join('{{' + k + '}}' for k in known)}",
                    )
