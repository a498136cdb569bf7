"""Safety concepts as data: the reference prompt families, thresholds and decision
constants (``safety_concepts.json``), plus the admin's custom concepts.

A concept set expands prefixes into the full list of prompts the model scores, and has a
version (``ConceptSet.version``): a hash of the model's fingerprint, every prompt and
threshold and the preprocessing, which keys the text-embedding cache and cached verdicts.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Set
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

BUILTIN_FILE = Path(__file__).with_name("safety_concepts.json")
FAMILIES = (
    "subject",
    "underage",
    "nsfw_predicates",
    "anime",
    "nsfw_concepts",
    "anime_nsfw_concepts",
)
BUILTIN_SCORES = ("subject", "underage", "nsfw", "anime", "csam")
# DeepDanbooru's scores, in verdicts where it ran (see decision.Danbooru); reserved names
DANBOORU_SCORES = (
    "danbooru_nsfw",
    "danbooru_explicit",
    "danbooru_questionable",
    "danbooru_unsafe",
    "danbooru_realistic",
)
# A custom concept's name, here and in rules.yaml (modbot.config imports these): it becomes
# a label and a score name. Use with ``fullmatch``: ``$`` would accept a trailing newline.
CONCEPT_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
CONCEPT_NAME_RULE = "use 1-40 lower-case letters, digits or '_', starting with a letter"
# the labels and scores modbot sets itself (`unreadable`: an image the classifier could
# not read); a custom concept may not take one of these names
RESERVED_CONCEPT_NAMES = frozenset((*BUILTIN_SCORES, *DANBOORU_SCORES, "unreadable"))
FORMS = ("bare", "prefixed", "both")
# Bump when the meaning of a file changes in code (a new decision step, say): it is part
# of every concept version, so cached verdicts from before are not reused.
# 2: thresholds are sums computed as the reference computes them (``offset``, ``modifier``)
FORMAT = 2


class ConceptError(ValueError):
    """A concept file or custom concept is invalid; the message says where and why."""


@dataclass(frozen=True)
class Prompt:
    """One prompt the model scores, with the thresholds of the family it belongs to."""

    family: str
    text: str  # the full text, prefix included
    threshold: float
    danger: float | None = None  # underage only: the first-pass threshold
    prefix: str = ""  # "photo of", ... or "" for the bare text
    base: str = ""  # the text without its prefix
    modifier: float | None = (
        None  # underage only: danger - base as written (the anime second pass uses it)
    )

    @property
    def bare(self) -> bool:
        return not self.prefix


@dataclass(frozen=True)
class CustomConcept:
    """An admin-defined concept (from rules.yaml): fires when any prompt's similarity,
    rounded to 4 decimals, is strictly above ``threshold`` (a tie does not fire, as for
    the built-in concepts); its score, named ``name``, is the largest margin."""

    name: str
    prompts: tuple[str, ...]
    threshold: float

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not CONCEPT_NAME.fullmatch(self.name):
            raise ConceptError(f"custom concept name {self.name!r}: {CONCEPT_NAME_RULE}")
        if self.name in RESERVED_CONCEPT_NAMES:
            raise ConceptError(
                f"custom concept name {self.name!r} is a built-in score or label; choose another name"
            )
        prompts = (self.prompts,) if isinstance(self.prompts, str) else self.prompts
        try:
            prompts = tuple(prompts)
        except TypeError:
            raise ConceptError(
                f"custom concept {self.name!r}: prompts must be a list of strings"
            ) from None
        if not prompts or not all(isinstance(p, str) and p.strip() for p in prompts):
            raise ConceptError(
                f"custom concept {self.name!r}: prompts must be a non-empty list of non-empty strings"
            )
        object.__setattr__(self, "prompts", tuple(p.strip() for p in prompts))
        _check_threshold(f"custom concept {self.name!r}: threshold", self.threshold)
        object.__setattr__(self, "threshold", float(self.threshold))


@dataclass(frozen=True)
class DecisionParams:
    """The decision constants of the reference method (see decision.py)."""

    subject_families: tuple[str, ...]
    anime_below: float
    photo_word: str
    photo_above: float
    photo_factor: float
    anime_factor: float
    min_distinct_hits: int
    anime_extra_subject_prompts: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]
    anime_skip_prompts: tuple[
        str, ...
    ] = ()  # bare underage prompts left out of the anime second pass


@dataclass(frozen=True)
class ConceptSet:
    """Every prompt to score and how to decide from the scores."""

    families: dict[str, tuple[Prompt, ...]]
    decision: DecisionParams
    custom: tuple[CustomConcept, ...] = ()
    calibrated_for: str = ""
    source: str = ""
    prompts: tuple[str, ...] = field(init=False)  # unique texts, the model's order
    index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        texts = [p.text for family in FAMILIES for p in self.families[family]]
        texts += [t for concept in self.custom for t in concept.prompts]
        unique = tuple(dict.fromkeys(texts))
        object.__setattr__(self, "prompts", unique)
        object.__setattr__(self, "index", {t: i for i, t in enumerate(unique)})
        names = [c.name for c in self.custom]
        if len(set(names)) != len(names):
            raise ConceptError(f"custom concepts: a name is used twice in {names}")

    @classmethod
    def builtin(cls, custom: Iterable[CustomConcept] = ()) -> ConceptSet:
        """The reference concepts shipped with the package, plus ``custom``."""
        return cls.from_dict(_builtin_data(), custom=custom, source=BUILTIN_FILE.name)

    @classmethod
    def load(cls, path: str | Path, custom: Iterable[CustomConcept] = ()) -> ConceptSet:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConceptError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        except json.JSONDecodeError as exc:
            raise ConceptError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
        except UnicodeDecodeError as exc:
            raise ConceptError(
                f"{path}: not UTF-8 (byte {exc.start}): save it as UTF-8 JSON"
            ) from None
        except RecursionError:
            raise ConceptError(f"{path}: not valid JSON: nested too deep") from None
        return cls.from_dict(data, custom=custom, source=str(path))

    @classmethod
    def from_dict(
        cls, data: Any, custom: Iterable[CustomConcept] = (), source: str = "<dict>"
    ) -> ConceptSet:
        """Validate and expand a concept document (the format of safety_concepts.json)."""
        return _parse(data, tuple(custom), source)

    def with_custom(self, custom: Iterable[CustomConcept]) -> ConceptSet:
        return ConceptSet(
            self.families, self.decision, tuple(custom), self.calibrated_for, self.source
        )

    @property
    def score_names(self) -> tuple[str, ...]:
        return BUILTIN_SCORES + tuple(c.name for c in self.custom)

    def canonical(self) -> dict:
        """Everything that changes a verdict, in a stable JSON-able form."""
        return {
            "format": FORMAT,
            "families": {
                f: [[p.text, p.threshold, p.danger, p.prefix, p.modifier] for p in self.families[f]]
                for f in FAMILIES
            },
            "decision": {k: _jsonable(v) for k, v in vars(self.decision).items()},
            "custom": [[c.name, list(c.prompts), c.threshold] for c in self.custom],
        }

    def version(self, model_fingerprint: str, preprocess: str = "") -> str:
        """Hash of model fingerprint + prompts + thresholds (+ preprocessing version)."""
        blob = json.dumps(
            {"model": model_fingerprint, "preprocess": preprocess, "concepts": self.canonical()},
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


@cache
def _builtin_data() -> dict:
    return json.loads(BUILTIN_FILE.read_text(encoding="utf-8"))


# -- validation ---------------------------------------------------------------------------


def _check_threshold(where: str, value: Any) -> None:
    # an integer is compared as one: too large for a float (JSON allows `1` and 400
    # zeros), math.isfinite would raise OverflowError; it is said cut short
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        raise ConceptError(f"{where}: must be a number, got {value!r}")
    if not -1 <= value <= 1:
        shown = str(value) if len(str(value)) <= 24 else f"{str(value)[:20]}..."
        raise ConceptError(f"{where}: {shown} is not a cosine similarity (between -1 and 1)")


def _mapping(
    where: str, value: Any, required: set[str], optional: Set[str] = frozenset()
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConceptError(f"{where}: must be an object, got {type(value).__name__}")
    missing = sorted(required - value.keys())
    if missing:
        raise ConceptError(f"{where}: missing {', '.join(repr(m) for m in missing)}")
    unknown = sorted(value.keys() - required - optional)
    if unknown:
        allowed = ", ".join(sorted(required | optional))
        raise ConceptError(f"{where}: unknown key {unknown[0]!r} (allowed: {allowed})")
    return value


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConceptError(f"{where}: must be a non-empty string, got {value!r}")
    return value.strip()


def _parse(data: Any, custom: tuple[CustomConcept, ...], source: str) -> ConceptSet:
    top = _mapping(
        source, data, {"format", "prefixes", "families", "decision"}, {"about", "calibrated_for"}
    )
    if top["format"] != FORMAT:
        raise ConceptError(
            f"{source}: format {top['format']!r} is not supported (this version reads {FORMAT})"
        )
    prefixes = top["prefixes"]
    if not isinstance(prefixes, dict):
        raise ConceptError(f"{source}: prefixes: must be an object of prefix -> threshold offset")
    for text, offset in prefixes.items():
        _text(f"{source}: prefixes", text)
        _check_threshold(f"{source}: prefixes[{text!r}]", offset)
    families_in = _mapping(f"{source}: families", top["families"], set(FAMILIES))
    families = {
        f: _parse_family(f"{source}: families.{f}", f, families_in[f], prefixes) for f in FAMILIES
    }
    decision = _parse_decision(f"{source}: decision", top["decision"], families)
    return ConceptSet(families, decision, custom, str(top.get("calibrated_for", "")), source)


def _parse_family(
    where: str, family: str, entries: Any, prefixes: dict[str, Any]
) -> tuple[Prompt, ...]:
    """Expand a family. Every threshold is computed in the order the reference adds its
    floats (horde-safety ebea47a), so ties at the 4th decimal fall the same way:
    bare ``threshold + offset``; prefixed ``(threshold + prefix offset) + offset``;
    underage danger ``modifier + threshold`` (bare) and ``prefix offset + (modifier +
    threshold)`` (prefixed)."""
    if not isinstance(entries, list) or not entries:
        raise ConceptError(f"{where}: must be a non-empty list of prompts")
    out = []
    for i, entry in enumerate(entries):
        here = f"{where}[{i}]"
        optional = {"forms", "offset"}
        required = {"text", "threshold"} | ({"modifier"} if family == "underage" else set())
        entry = _mapping(here, entry, required, optional)
        text = _text(f"{here}.text", entry["text"])
        _check_threshold(f"{here}.threshold", entry["threshold"])
        offset = entry.get("offset", 0.0)
        _check_threshold(f"{here}.offset", offset)
        modifier = entry.get("modifier")
        if modifier is not None:
            _check_threshold(f"{here}.modifier", modifier)
            if modifier < 0:
                raise ConceptError(
                    f"{here}.modifier: {modifier} must be >= 0 (danger = threshold + modifier)"
                )
            modifier = float(modifier)
        base_thr = float(entry["threshold"])
        offset = float(offset)
        forms = entry.get("forms", "bare")
        if forms not in FORMS:
            raise ConceptError(f"{here}.forms: {forms!r} must be one of {', '.join(FORMS)}")
        if forms in ("bare", "both"):
            danger = None if modifier is None else modifier + base_thr
            out.append(Prompt(family, text, base_thr + offset, danger, "", text, modifier))
        if forms in ("prefixed", "both"):
            for prefix, prefix_offset in prefixes.items():
                prefix_offset = float(prefix_offset)
                danger = None if modifier is None else prefix_offset + (modifier + base_thr)
                out.append(
                    Prompt(
                        family,
                        f"{prefix} {text}",
                        (base_thr + prefix_offset) + offset,
                        danger,
                        prefix,
                        text,
                        modifier,
                    )
                )
    seen = set()
    for p in out:
        if p.text in seen:
            raise ConceptError(f"{where}: prompt {p.text!r} appears twice")
        seen.add(p.text)
    return tuple(out)


def _parse_decision(
    where: str, data: Any, families: dict[str, tuple[Prompt, ...]]
) -> DecisionParams:
    top = _mapping(where, data, {"subject_families", "anime_revoke", "second_pass"})
    subject_families = data["subject_families"]
    if not isinstance(subject_families, list) or not all(f in FAMILIES for f in subject_families):
        raise ConceptError(
            f"{where}.subject_families: must list family names from {', '.join(FAMILIES)}"
        )
    revoke = _mapping(
        f"{where}.anime_revoke", top["anime_revoke"], {"anime_below", "photo_word", "photo_above"}
    )
    _check_threshold(f"{where}.anime_revoke.anime_below", revoke["anime_below"])
    _check_threshold(f"{where}.anime_revoke.photo_above", revoke["photo_above"])
    photo_word = _text(f"{where}.anime_revoke.photo_word", revoke["photo_word"])
    second = _mapping(
        f"{where}.second_pass",
        top["second_pass"],
        {
            "photo_factor",
            "anime_factor",
            "min_distinct_hits",
            "anime_extra_subject_prompts",
            "pairs",
        },
        {"anime_skip_prompts"},
    )
    for key in ("photo_factor", "anime_factor"):
        value = second[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ConceptError(
                f"{where}.second_pass.{key}: must be a number from 0 to 1, got {value!r}"
            )
    hits = second["min_distinct_hits"]
    if isinstance(hits, bool) or not isinstance(hits, int) or hits < 1:
        raise ConceptError(
            f"{where}.second_pass.min_distinct_hits: must be a whole number >= 1, got {hits!r}"
        )
    subject_bare = {p.text for p in families["subject"] if p.bare}
    extra = second["anime_extra_subject_prompts"]
    if not isinstance(extra, list) or not all(
        isinstance(t, str) and t in subject_bare for t in extra
    ):
        raise ConceptError(
            f"{where}.second_pass.anime_extra_subject_prompts: must list bare prompts of families.subject"
        )
    underage_bare = {p.text for p in families["underage"] if p.bare}
    skip = second.get("anime_skip_prompts", [])
    if not isinstance(skip, list) or not all(
        isinstance(t, str) and t in underage_bare for t in skip
    ):
        raise ConceptError(
            f"{where}.second_pass.anime_skip_prompts: must list bare prompts of families.underage"
        )
    known = {p.text for p in families["underage"]} | subject_bare
    pairs = second["pairs"]
    if not isinstance(pairs, list) or not all(
        isinstance(pair, list)
        and len(pair) == 2
        and all(isinstance(t, str) and t in known for t in pair)
        for pair in pairs
    ):
        raise ConceptError(
            f"{where}.second_pass.pairs: must be a list of [singular, plural] prompts of underage or subject"
        )
    return DecisionParams(
        subject_families=tuple(subject_families),
        anime_below=float(revoke["anime_below"]),
        photo_word=photo_word,
        photo_above=float(revoke["photo_above"]),
        photo_factor=float(second["photo_factor"]),
        anime_factor=float(second["anime_factor"]),
        min_distinct_hits=hits,
        anime_extra_subject_prompts=tuple(extra),
        pairs=tuple((a, b) for a, b in pairs),
        anime_skip_prompts=tuple(skip),
    )
