"""Everything `modbot check-rules` checks, every problem as `FILE:LINE: message`.

pydantic validates the data read by ``yamlfile``, and each pydantic error's `loc` is
walked back to the line it came from. Checks that need the whole file (labels of custom
concepts, hash-list names and kinds, placeholders, the hash-list files themselves) run
after, with the same line map. One run reports every problem: what failed is dropped
and the rest validated again.

Long because check-rules says everything in one run: each check is small, and they
share one line map and the salvage loop.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from classifier.concepts import (
    CONCEPT_NAME,
    CONCEPT_NAME_RULE,
    DANBOORU_SCORES,
    RESERVED_CONCEPT_NAMES,
)
from modbot.actions.kinds import ACTIONS
from modbot.config.schema import (
    BUILTIN_LABELS,
    BUILTIN_SCORES,
    DANBOORU_TAG_SCORE,
    GATE_UPLOAD_TIMEOUT,
    ITEM_TYPES,
    PLACEHOLDER,
    PLACEHOLDERS,
    PROFILE_TYPES,
    SHARED_PREFIX,
    UPLOAD_ROOM_S,
    UPLOAD_TIMEOUT_S,
    Actions,
    Conditions,
    PolicyFile,
    Rule,
)
from modbot.config.words import describe, suggest
from modbot.config.yamlfile import Lines, read_yaml
from modbot.errors import HashListError, Problem, UnusableFile
from modbot.hashes import HASH_KINDS, HashList

__all__ = ["Validated", "error_message", "never_acts", "validate", "where"]

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


# a number past a bound: the key of the bound in the error's ctx, and the words
_BOUNDS = {
    "greater_than_equal": ("ge", "less than", "or more"),
    "less_than_equal": ("le", "more than", "or less"),
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


# What a moderator may write for a rule's `if:` and `then:`
_RULE_WORDS = {
    **dict.fromkeys(("when", "conditions", "condition", "match"), "if"),
    **dict.fromkeys(("actions", "action", "do"), "then"),
}


def error_message(err: Mapping[str, Any], data: Any) -> str:
    kind, loc, given = err["type"], tuple(err["loc"]), err.get("input")
    if kind == "extra_forbidden":
        key = loc[-1]
        allowed = allowed_keys(loc[:-1])
        hint = suggest(key, allowed)
        if key == "if_":
            hint = " (write `if:`)"
        elif "then" in allowed and str(key).lower() in _RULE_WORDS:
            # closest in spelling is not closest in meaning: `when` is no typo of `then`
            hint = f" (write `{_RULE_WORDS[str(key).lower()]}:`)"
        elif "then" in allowed and key in Conditions.model_fields:
            # right word, one indent too far left: say where it goes
            hint = ": a condition, write it under `if:`"
        elif "then" in allowed and key in Actions.model_fields:
            hint = ": an action, write it under `then:`"
        elif len(loc) >= 2 and isinstance(loc[-2], str) and key in allowed_keys(loc[:-2]):
            # `then:` indented under `if:`: a key of the mapping above, one indent too far
            # (surer than a spelling close to a key allowed here)
            hint = f": it belongs one level up, indented as `{loc[-2]}:` is"
        place = where(loc[:-1], data)
        tail = hint or (f"; allowed here: {', '.join(allowed)}" if allowed else "")
        if not loc[:-1] and not hint:
            tail += f" (and `{SHARED_PREFIX}NAME:` keys of blocks shared by YAML anchors)"
        return f"unknown key {key!r}{' in ' + place if place else ''}{tail}"
    place = where(loc, data)
    prefix = f"{place}: " if place else ""
    if kind == "missing":
        return f"{where(loc[:-1], data) or 'the file'}: missing {loc[-1]!r}"
    if kind == "too_short":
        return f"{prefix}is empty: list at least one, or leave the condition out"
    if kind in _BOUNDS and isinstance(given, (int, float)):
        # pydantic's "Input should be less than or equal to 1": the value, the bound
        # and what to give, in words
        key, than, give = _BOUNDS[kind]
        bound = err["ctx"][key]
        text = f"{prefix}{given:g} is {than} {bound:g}: give {bound:g} {give}"
        if loc[-1] == "threshold" and 1 < given <= 100:
            text += f" (a similarity, like 0.23: did you mean {given / 100:g}?)"
        return text
    if kind in ("value_error", "assertion_error"):
        return prefix + str(err["ctx"]["error"])
    if kind == "string_type" and given is not None and not isinstance(given, (dict, list)):
        # `name: 2026-01-05`, `name: yes`, `report: 404`: YAML read a date, a truth or a
        # number where text was meant
        return f"{prefix}expected text, got {describe(given)}: put it in quotes"
    if loc == ("rules",) and kind == "list_type" and isinstance(given, dict):
        # one rule without its dash, or rules keyed by their names
        keys = {info.alias or name for name, info in Rule.model_fields.items()}
        named = [k for k in given if isinstance(k, str) and k not in keys]
        example = f"; for `{named[0]}:` write `- name: {named[0]}`" if named else ""
        return (
            "rules: expected a list of rules, got a mapping: each rule starts with "
            f"`- name:`, a dash then its name{example}"
        )
    if kind in _EXPECTED and isinstance(given, str):
        written = _unquoted(kind, given)
        if written is not None:
            # `remove_data: "yes"`, `priority: "50"`: in quotes YAML reads text, taken as
            # text (never as the truth or number it looks like), so the fix is said
            return (
                f"{prefix}expected {_EXPECTED[kind]}, got {given!r} in quotes (text): "
                f"write {written}, without quotes"
            )
    if kind in _EXPECTED:
        return f"{prefix}expected {_EXPECTED[kind]}, got {describe(given)}"
    return f"{prefix}{err['msg']} (got {describe(given)})"


def _unquoted(kind: str, text: str) -> str | None:
    """What to write, unquoted, for text that reads as the truth or number expected (only
    quotes make YAML read `yes` or `50` as text); None for other text."""
    word = text.strip().lower()
    if kind.startswith("bool_"):
        if word in ("true", "yes", "on"):
            return "true"
        return "false" if word in ("false", "no", "off") else None
    if kind.startswith("int_"):
        return text.strip() if re.fullmatch(r"[+-]?\d+", text.strip()) else None
    if kind.startswith("float_"):
        try:
            float(word)
        except ValueError:
            return None
        return text.strip()
    return None


# Where each kind of item can have its images.
_FOUND_IN = {
    "post": {"post_url", "thumbnail", "body"},
    "comment": {"comment"},
    "upload": {"upload"},
    "file": {"store"},
    **{kind: {"profile"} for kind in PROFILE_TYPES},
    "incoming": set(),  # a file at the upload gate is in no item yet
}


# The item kinds that never have a community: a person's images (those in their bio
# too) and the site's (its sidebar's too).
_NO_COMMUNITY = {"avatar", "banner", "bio", "site_icon", "site_banner", "site_sidebar"}


def _kinds(rule: Rule) -> set[str]:
    """The kinds of item `rule` can match."""
    c = rule.if_
    every = {k for k in ITEM_TYPES if k not in ("any", "incoming")}
    kinds = every if not c.type or "any" in c.type else set(c.type)
    if c.found_in:
        kinds = {k for k in kinds if _FOUND_IN[k] & set(c.found_in)}
    return kinds


# A community's or the site's image (and one in their texts) has no author to ban
_AUTHORLESS = {k for k in PROFILE_TYPES if k.startswith(("community_", "site_"))}


def idle_actions(rule: Rule) -> dict[str, str]:
    """The actions of `rule` that do nothing to every kind of item it can match, each
    with why (docs/rules.md, "Profile and community images"); the handlers skip them."""
    kinds, then = _kinds(rule), rule.then
    if not kinds or "incoming" in kinds:
        return {}
    postless = {"upload", *PROFILE_TYPES}  # there is no post or comment to take down
    idle: dict[str, str] = {}
    for action in ("remove", "purge_item"):
        if getattr(then, action) and kinds <= postless:
            idle[action] = "there is no post or comment"
    if then.ban and kinds <= _AUTHORLESS:
        idle["ban"] = "a community's or the site's image has no author to ban"
    elif then.ban and then.ban.scope == "community" and kinds <= postless:
        idle["ban"] = "a community ban needs a community, and they have none"
    return idle


def never_acts(rule: Rule) -> str | None:
    """Why `rule` cannot act on any image, for a check-rules warning; None if it can."""
    c = rule.if_
    kinds = _kinds(rule)
    if c.found_in and not kinds:
        return f"no {' or '.join(c.type or ['item'])} has images in {', '.join(c.found_in)}"
    if kinds == {"incoming"} and (
        c.community or c.author or c.scope or c.skipped or c.fetch_failed
    ):
        return "a file at the upload gate has no community, author, scope or skip reason yet"
    if c.unreadable and (c.labels or c.scores):
        return "an unreadable image has no labels or scores"
    if c.skipped and (c.labels or c.scores or c.unreadable is not None or c.hash_list):
        return "a skipped image was not checked: it has no labels, scores or hash"
    if kinds == {"upload"} and c.community:
        return "an upload has no community"
    if kinds == {"site_sidebar"}:
        return "the site's sidebar is written by admins: its images are never acted on"
    if kinds and kinds <= _NO_COMMUNITY and c.community:
        return f"{' or '.join(sorted(kinds))} images have no community"
    if c.author and c.author.moderator and rule.moderators_exempt:
        return "it is about moderators but exempts them (moderators_exempt: true)"
    return None


def _test_implies(narrow: Any, wide: Any) -> bool:
    """Whether every value passing the comparison `narrow` passes `wide` too."""
    if wide.op in (">", ">=") and narrow.op in (">", ">="):
        return narrow.value > wide.value or (
            narrow.value == wide.value and (wide.op == ">=" or narrow.op == ">")
        )
    if wide.op in ("<", "<=") and narrow.op in ("<", "<="):
        return narrow.value < wide.value or (
            narrow.value == wide.value and (wide.op == "<=" or narrow.op == "<")
        )
    return False


def _any_of(narrow: Any, wide: Any) -> bool:
    """A condition that holds when any of its values does: `narrow` holds only where `wide`
    does (a list of fewer, or true where `wide` is true)."""
    if wide is None:
        return True
    if narrow is None:
        return False
    if wide is True:
        return True
    return narrow is not True and set(narrow) <= set(wide)


def _all_of(narrow: Any, wide: Any, keys: tuple[str, ...], tests: tuple[str, ...] = ()) -> bool:
    if wide is None:
        return True
    if narrow is None:
        return False
    for key in keys:
        want, have = getattr(wide, key), getattr(narrow, key)
        if want is None:
            continue
        if have is None:
            return False
        if key in tests:
            if not _test_implies(have, want):
                return False
        elif key == "name":
            if not set(have) <= set(want):
                return False
        elif have != want:
            return False
    return True


# Removal rules compared pairwise for check_beaten_rules: far more than a file has
MAX_RULES_COMPARED = 400


def covers(a: Conditions, b: Conditions) -> bool:
    """Whether conditions `a` hold for every image conditions `b` hold for, as far as can
    be read off them (the item kinds are the caller's): no claim rather than a wrong one."""
    if a.found_in is not None and not _any_of(b.found_in, a.found_in):
        return False
    for key in ("labels", "hash_list"):
        if not _any_of(getattr(b, key), getattr(a, key)):
            return False
    # without `skipped` or `fetch_failed` a rule matches only images that were checked
    if a.skipped is None and a.fetch_failed is None:
        if b.skipped is not None or b.fetch_failed is not None:
            return False
    elif not (_any_of(b.skipped, a.skipped) and _any_of(b.fetch_failed, a.fetch_failed)):
        return False
    if a.unreadable is not None and a.unreadable != b.unreadable:
        return False
    narrower = b.scores or {}
    for name, test in (a.scores or {}).items():
        if name not in narrower or not _test_implies(narrower[name], test):
            return False
    if a.scope not in (None, "all") and a.scope != b.scope:
        return False
    return _all_of(b.community, a.community, ("name", "nsfw", "local")) and _all_of(
        b.author, a.author, ("local", "bot_account", "moderator", "account_age"), ("account_age",)
    )


def _names(section: Any) -> list[str]:
    return [k for k in section if isinstance(k, str)] if isinstance(section, dict) else []


# What YAML reads as false unquoted: in quotes, the text of a reason or a message.
_FALSE_WORDS = ("false", "no", "off", "n", "null", "none", "~")

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


def validate(
    text: str, file: str, base_dir: Path, gate_upload_timeout: float | None = None
) -> Validated:
    """Everything check-rules checks. `file` is how the file is named in messages.
    ``gate_upload_timeout``: read by `modbot gate` with that --upload-timeout, which then
    holds gate.budget under it (not under the default 30 s)."""
    data, lines, problems = read_yaml(text, file)
    if data is None:
        return Validated(None, {}, problems, lines, base_dir)
    # `x-...:` at the top holds blocks several rules share by YAML anchor (`&name`, used as
    # `*name`), as Docker Compose's `x-` keys do: the aliases are resolved by now, and the
    # key itself is no setting. Only what a rule uses is checked, where it uses it.
    for key in [k for k in data if k.startswith(SHARED_PREFIX)]:
        del data[key]
    salvaged, rule_index = data, list(range(len(data.get("rules") or [])))
    context = {GATE_UPLOAD_TIMEOUT: gate_upload_timeout}
    try:
        model = PolicyFile.model_validate(data, context=context)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        for err in errors:
            loc = tuple(err["loc"])
            line, note = lines.place(loc, key=err["type"] == "extra_forbidden")
            problems.append(Problem(file, line, error_message(err, data) + note))
        # Check the rest too, so one run of check-rules shows every problem: drop what
        # failed (the smallest part that holds the error) and validate again.
        model = None
        for _ in range(6):
            salvaged, rule_index = _prune(salvaged, rule_index, [tuple(e["loc"]) for e in errors])
            if salvaged is None:
                return Validated(None, {}, _sorted(problems), lines, base_dir)
            try:
                model = PolicyFile.model_validate(salvaged, context=context)
                break
            except ValidationError as again:
                errors = again.errors(include_url=False)
        if model is None:
            return Validated(None, {}, _sorted(problems), lines, base_dir)
    assert model is not None  # validated, or salvaged above
    checker = _Checker(model, data, lines, file, base_dir, rule_index, gate_upload_timeout)
    hash_lists = checker.run()
    problems = _sorted(problems + checker.problems)
    if any(not p.warning for p in problems):
        return Validated(None, hash_lists, problems, lines, base_dir)
    return Validated(model, hash_lists, problems, lines, base_dir)


def _sorted(problems: list[Problem]) -> list[Problem]:
    first = problems[0].file if problems else None
    main = [p for p in problems if p.file == first]
    ordered = sorted(main, key=lambda p: p.line) + [p for p in problems if p.file != first]
    return _said_once(ordered)


# The note `Lines.place` ends a message with in a value a rule takes from an anchor
_WRITTEN_AT = re.compile(r" \(written at &(?P<anchor>[^,]+), line (?P<line>\d+)\)$")
# how a message names its rule (`where`): rule 'name' (as repr writes it), or rule #3
_RULE = re.compile(r"rule (?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|#\d+)")


def _said_once(problems: list[Problem]) -> list[Problem]:
    """A problem in a block several rules take from one anchor (`then: *takedown`) is
    the same problem for each: said once, at the first rule using it, naming the others
    (`the same in rule 'b', line 9, and rule 'c', line 12`; `the same at line 9` for a
    message that names no rule), not once per rule. The rule that writes the anchor
    keeps its own line: that is where the fix goes."""
    kept: list[Problem] = []
    first: dict[tuple, int] = {}  # (file, warning, message less its rule) -> index in kept
    others: dict[int, list[str]] = {}
    for problem in problems:
        if not _WRITTEN_AT.search(problem.message):
            kept.append(problem)
            continue
        rule = _RULE.search(problem.message)
        key = (problem.file, problem.warning, _RULE.sub("rule", problem.message, count=1))
        if key not in first:
            first[key] = len(kept)
            kept.append(problem)
        else:
            where = f"{rule.group(0)}, line" if rule else "line"
            others.setdefault(first[key], []).append(f"{where} {problem.line}")
    for index, also in others.items():
        problem = kept[index]
        shown = also[0] if len(also) == 1 else ", ".join(also[:-1]) + f", and {also[-1]}"
        at = "in" if _RULE.search(problem.message) else "at"
        message = problem.message[:-1] + f"; the same {at} {shown})"
        kept[index] = Problem(problem.file, problem.line, message, problem.warning)
    return kept


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


def _pdqhash_missing() -> str | None:
    """Why the pdqhash package (PDQ's code, ``modbot.pdq``) cannot be imported, or None."""
    try:
        import pdqhash  # noqa: F401
    except ImportError as exc:
        return str(exc)
    return None


def _pdqhash_requirement() -> str:
    """pdqhash as modbot's package declares it (pyproject.toml), for the install hint."""
    from importlib import metadata

    try:
        declared = metadata.requires("lemmy-modbot") or []
    except metadata.PackageNotFoundError:  # run from a checkout never installed
        declared = []
    for requirement in declared:
        if re.match(r"pdqhash\b", requirement):
            return requirement.split(";", 1)[0].strip()
    return "pdqhash"


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
        gate_upload_timeout: float | None = None,
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
        self.gate_upload_timeout = gate_upload_timeout  # read by `modbot gate` (validate)
        # Names as written, also those of entries that failed validation: a reference to
        # a broken concept or list is not a second mistake.
        concepts = set(_names(data.get("concepts"))) | set(model.concepts)
        # A feed used as known-bad or allow-list is a list by its name, as a hash list.
        feeds = [n for n, f in model.feeds.items() if f.use != "classified"]
        self.list_names = list(
            dict.fromkeys([*model.hash_lists, *_names(data.get("hash_lists")), *feeds])
        )
        self.labels = set(BUILTIN_LABELS) | concepts
        self.scores = set(BUILTIN_SCORES) | concepts

    def add(self, loc: tuple, message: str, key: bool = False, warning: bool = False) -> None:
        line, note = self.lines.place(loc, key=key)
        self.problems.append(Problem(self.file, line, message + note, warning))

    def run(self) -> dict[str, HashList]:
        self.check_concepts()
        hash_lists = self.load_hash_lists()
        self.check_pdqhash()
        for name in self.model.feeds:
            if name in self.model.hash_lists:
                self.add(
                    ("feeds", name),
                    f"feed {name!r} has the name of a hash list: rules name both the same "
                    "way, so give it another name",
                    key=True,
                )
        for name in self.model.exempt.hash_lists:
            if name not in self.list_names:
                self.add(("exempt", "hash_lists"), self.unknown_list(name))
            elif name in self.model.feeds and self.model.feeds[name].use == "known-bad":
                # an allow-list wins over every rule: this would spare the peer's bad files
                self.add(
                    ("exempt", "hash_lists"),
                    f"exempt.hash_lists: feed {name!r} is a known-bad feed: its entries are "
                    "images the peer found bad; to exempt a peer's checked images, subscribe "
                    "to its feed with use: allow-list",
                )
            elif name in self.model.hash_lists:
                kind_name = self.model.hash_lists[name].kind
                kind = HASH_KINDS.get(kind_name)
                if kind is not None and not kind.spares:
                    # the admin's own list: still taken, but said (feeds drop such entries)
                    self.add(
                        ("exempt", "hash_lists"),
                        f"exempt.hash_lists: list {name!r} is of {kind_name} digests, and two "
                        f"different files with one {kind_name.upper()} can be made: a harmless "
                        "file put on it spares any file made to collide with it (its abusive "
                        "twin). It still spares every file on it; list sha256 digests "
                        "(modbot hash FILE) instead",
                        warning=True,
                    )
        self.check_allowed_and_blocked(hash_lists)
        self.check_checkpoint()
        self.check_deepdanbooru()
        self.check_remote()
        self.check_gate_budget()
        self.check_rule_names()
        for i, rule in zip(self.rule_index, self.model.rules):
            self.check_rule(i, rule)
        self.check_beaten_rules()
        if not self.model.rules and not self.rule_index and not self.data.get("rules"):
            self.add(
                ("rules",), "no rules: modbot will record verdicts but never act", warning=True
            )
        return hash_lists

    def check_allowed_and_blocked(self, loaded: dict[str, HashList]) -> None:
        """An allow-list wins over every rule: a hash that is also on a list a rule acts
        by is spared, silently, unless said here (a list of checked images that took in a
        bad one by mistake, say)."""
        allowed = [n for n in dict.fromkeys(self.model.exempt.hash_lists) if n in loaded]
        for name, listed in loaded.items():
            if name in allowed:
                continue
            for allow in allowed:
                count, line = listed.index.shared_with(loaded[allow].index)
                if not count:
                    continue
                spec = self.model.hash_lists[name]
                shown = (
                    spec.file
                    if os.path.isabs(spec.file)
                    else os.path.join(os.path.dirname(self.file), spec.file)
                )
                also = f" (and {count - 1} more)" if count > 1 else ""
                self.problems.append(
                    Problem(
                        shown,
                        line if isinstance(line, int) else 1,  # a list's payloads are its lines
                        f"hash list {name!r}: this hash{also} is also on the allow-list "
                        f"{allow!r} (exempt.hash_lists), which wins: no rule acts on "
                        "those images; take it off one of the two lists",
                        True,
                    )
                )

    def check_concepts(self) -> None:
        for name in self.model.concepts:
            loc = ("concepts", name)
            if name in RESERVED_CONCEPT_NAMES:
                self.add(
                    loc,
                    f"concept {name!r} has the name of a built-in label or score; "
                    "choose another name",
                    key=True,
                )
            elif not CONCEPT_NAME.fullmatch(str(name)):
                self.add(
                    loc,
                    f"concept name {name!r}: {CONCEPT_NAME_RULE} (it becomes a label and "
                    "a score name)",
                    key=True,
                )

    def load_hash_lists(self) -> dict[str, HashList]:
        loaded = {}
        for name, spec in self.model.hash_lists.items():
            loc = ("hash_lists", name)
            kind = HASH_KINDS[spec.kind]
            if kind.exact and spec.max_distance is not None:
                near = " or ".join(k.name for k in HASH_KINDS.values() if not k.exact)
                self.add(
                    (*loc, "max_distance"),
                    f"hash list {name!r}: max_distance applies only to kind: {near} "
                    f"({kind.title} matches exactly or not at all)",
                )
            elif not kind.exact and (spec.max_distance or 0) > kind.max_distance:
                self.add(
                    (*loc, "max_distance"),
                    f"hash list {name!r}: max_distance {spec.max_distance} is more than a "
                    f"{kind.name} list allows ({kind.max_distance}): that far, "
                    "unrelated images match",
                )
                continue
            if spec.format == "threatexchange" and spec.kind != "pdq":
                self.add(
                    (*loc, "kind"),
                    f"hash list {name!r}: a python-threatexchange file (format: "
                    f"threatexchange) holds pdq hashes of photos, not {spec.kind} "
                    "(its md5 and sha256 types are hashes of videos)",
                )
                continue
            path = Path(spec.file) if os.path.isabs(spec.file) else self.base_dir / spec.file
            shown = (
                spec.file
                if os.path.isabs(spec.file)
                else os.path.join(os.path.dirname(self.file), spec.file)
            )
            distance = None if kind.exact else spec.max_distance
            try:
                loaded[name] = HashList.load(
                    path, spec.kind, distance, name=name, shown_as=shown, format=spec.format
                )
                for line, stype, why in loaded[name].skipped:  # capped, the rest counted
                    self.problems.append(
                        Problem(shown, line, f"hash list {name!r}: {stype} left out: {why}", True)
                    )
            except FileNotFoundError:
                self.add(
                    (*loc, "file"),
                    f"hash list {name!r}: no such file {shown!r} "
                    "(a relative path is relative to the rules file)",
                )
            except UnusableFile as exc:
                if exc.line is None:  # about the file as a whole: where the rules name it
                    self.add((*loc, "file"), f"hash list {name!r}: {shown!r} is {exc}")
                else:
                    self.problems.append(Problem(shown, exc.line, f"hash list {name!r}: {exc}"))
            except HashListError as exc:
                self.problems += [Problem(f, line, m) for f, line, m in exc.problems]
            except OSError as exc:
                self.add(
                    (*loc, "file"),
                    f"hash list {name!r}: cannot read {shown!r}: {exc.strerror or exc}",
                )
        return loaded

    def check_pdqhash(self) -> None:
        """A pdq list where the pdqhash package cannot be imported (its source build
        failed, say) would match nothing, each image's PDQ failing with a warning: the
        file is refused, saying how to install it. Feeds say what they carry only once
        fetched: warned about, as they may carry pdq hashes."""
        lists = [n for n, spec in self.model.hash_lists.items() if spec.kind == "pdq"]
        feeds = [n for n, f in self.model.feeds.items() if f.use != "classified"]
        if not lists and not feeds:
            return
        why = _pdqhash_missing()
        if why is None:
            return
        install = (
            f"the pdqhash package that computes them cannot be imported ({why}): install it "
            f"in modbot's environment with `pip install '{_pdqhash_requirement()}'` (pip "
            "builds it from source: it needs a C++ compiler, g++, and numpy)"
        )
        if lists:
            named = ", ".join(repr(n) for n in lists)
            holds = "holds" if len(lists) == 1 else "hold"
            self.add(
                ("hash_lists", lists[0], "kind"),
                f"hash list{'s' * (len(lists) > 1)} {named} {holds} pdq hashes, and {install}",
            )
        for name in feeds:  # a near match of a classified feed is never used
            self.add(
                ("feeds", name),
                f"feed {name!r}: any pdq hashes it carries will match nothing, as {install}",
                key=True,
                warning=True,
            )

    def check_checkpoint(self) -> None:
        checkpoint = self.model.classifier.checkpoint
        if checkpoint is None or self.model.classifier.remote is not None:
            return
        # `~` is the home folder, as Policy.checkpoint_path reads it
        expanded = os.path.expanduser(checkpoint)
        path = Path(expanded) if os.path.isabs(expanded) else self.base_dir / checkpoint
        if not path.exists():
            self.add(
                ("classifier", "checkpoint"),
                f"classifier checkpoint {checkpoint!r} "
                "does not exist here (the model will not load on this machine)",
                warning=True,
            )

    def check_deepdanbooru(self) -> None:
        """Any text but auto and off is the weights file's path: a bare word that names no
        file is a typo (`atuo`, `none`), which would stop the bot only at start, after
        loading the model. A path not here is warned of, as a checkpoint is."""
        setting = self.model.classifier.deepdanbooru
        if setting in ("auto", "off") or self.model.classifier.remote is not None:
            return
        expanded = os.path.expanduser(setting)
        path = Path(expanded) if os.path.isabs(expanded) else self.base_dir / setting
        if path.is_file():
            return
        loc = ("classifier", "deepdanbooru")
        if not re.search(r"[/\\.]", setting):
            self.add(
                loc,
                f"classifier.deepdanbooru: {setting!r} is no file here{suggest(setting.lower(), ('auto', 'off'))}; "
                "use auto, off, or the path of model-resnet_custom_v3.pt",
            )
            return
        if path.is_dir():  # the folder holding the file: `run` wants the file
            from classifier.deepdanbooru import WEIGHTS_FILE

            self.add(
                loc,
                f"classifier.deepdanbooru: {path} is a folder, not the weights file (the bot "
                f"will not start on this machine): write classifier.deepdanbooru: "
                f"{path / WEIGHTS_FILE}, or auto to find it in the Hugging Face cache",
                warning=True,
            )
            return
        self.add(
            loc,
            f"classifier.deepdanbooru: {setting!r} does not exist here (the bot will not "
            "start on this machine; auto finds the file in the Hugging Face cache)",
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
                "decode_processes",
                "views_in_processes",
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
        # they decide the verdicts and their concept version: the workers' to set
        theirs = [k for k in ("deepdanbooru", "decode_memory") if k in c.model_fields_set]
        if theirs:
            options = " and ".join("--" + k.replace("_", "-") for k in theirs)
            # decode_memory still bounds the decodes for perceptual hashes done here
            here = (
                "; decode_memory here bounds only the decodes for a perceptual hash list"
                if "decode_memory" in theirs
                else ""
            )
            self.add(
                ("classifier", theirs[0]),
                f"classifier.{', classifier.'.join(theirs)}: the workers' with classifier.remote "
                f"(start them with {options}{here})",
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

    def check_gate_budget(self) -> None:
        """``modbot gate --upload-timeout`` (what pict-rs and Lemmy wait for an upload)
        holds gate.budget under it, with room; this file cannot say that option's value,
        so a budget without that room under the defaults is warned of here."""
        if "budget" not in self.model.gate.model_fields_set:
            return  # the default 10s leaves the room
        if self.gate_upload_timeout is not None:
            return  # the gate checks it against its own (upload_timeout_problem)
        budget = self.model.gate.budget.total_seconds()
        if budget <= UPLOAD_TIMEOUT_S - UPLOAD_ROOM_S:
            return
        self.add(
            ("gate", "budget"),
            f"gate.budget {budget:g}s leaves less than {UPLOAD_ROOM_S:g}s under the "
            f"{UPLOAD_TIMEOUT_S:g}s pict-rs (PICTRS__MEDIA__EXTERNAL_VALIDATION_TIMEOUT) and "
            "Lemmy (pictrs.upload_timeout in lemmy.hjson, which counts pict-rs' own work on "
            "the file too) wait for an upload by default: a slow upload fails at Lemmy while "
            f"the gate still decides. Set it to {UPLOAD_TIMEOUT_S - UPLOAD_ROOM_S:g}s or "
            f"less, or raise both timeouts to {budget + UPLOAD_ROOM_S:g} or more and give "
            "the shorter to `modbot gate --upload-timeout`, which checks the budget against "
            "it at start (the rules file cannot say it)",
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
                    (*at, "if", "labels", j),
                    f"unknown label {label!r}{hint}; labels are "
                    f"{', '.join(sorted(self.labels))} (custom ones come from concepts:)",
                )
        for name in cond.scores or {}:
            if name not in self.scores and not (
                name.startswith(DANBOORU_TAG_SCORE) and len(name) > len(DANBOORU_TAG_SCORE)
            ):
                self.add(
                    (*at, "if", "scores", name),
                    f"unknown score {name!r}"
                    f"{suggest(name, self.scores)}; scores are "
                    f"{', '.join(sorted(self.scores - set(DANBOORU_SCORES)))}; DeepDanbooru's: "
                    f"{', '.join(DANBOORU_SCORES)}, {DANBOORU_TAG_SCORE}TAG",
                    key=True,
                )
        for j, name in enumerate(cond.hash_list or []):
            if name not in self.list_names:
                self.add((*at, "if", "hash_list", j), self.unknown_list(name))
            elif name in self.model.exempt.hash_lists:
                self.add(
                    (*at, "if", "hash_list", j),
                    f"hash list {name!r} is also an "
                    "allow-list in exempt.hash_lists, so this rule can never act",
                    warning=True,
                )
        self.check_placeholders(at, rule)
        self.check_quoted_false(at, rule)
        if rule.moderators_exempt is not None and _kinds(rule) == {"incoming"}:
            # the gate sees a file before anyone posts it: nobody to be a moderator
            self.add(
                (*at, "moderators_exempt"),
                f"rule {rule.name!r}: moderators_exempt does nothing at the upload gate "
                "(a file there has no author or community yet); remove it",
                warning=True,
            )
        if rule.then.ban and not cond.hash_list and (cond.labels or cond.scores):
            self.add(
                (*at, "then", "ban"),
                f"rule {rule.name!r} bans on the classifier alone; "
                "it has false positives (see docs/rules.md), consider a report or "
                "removal first",
                warning=True,
            )
        why = never_acts(rule)
        if why:
            self.add((*at, "if"), f"rule {rule.name!r} can never act: {why}", warning=True)
            return
        idle = idle_actions(rule)
        kinds = " or ".join(sorted(_kinds(rule)))
        asked = [k.name for k in ACTIONS.values() if k.asked(rule.then)]
        if idle and set(asked) <= set(idle):
            # a removal rule that matches wins over the removal rules below it, even so
            said = "; ".join(f"then.{a} does nothing ({why})" for a, why in idle.items())
            self.add(
                (*at, "then"),
                f"rule {rule.name!r} can never act on {kinds} images: {said}; yet, "
                "matching, it wins over the removal rules below it",
                warning=True,
            )
            return
        for action, why in idle.items():
            self.add(
                (*at, "then", action),
                f"rule {rule.name!r}: then.{action} does nothing to {kinds} images: {why}",
                warning=True,
            )

    def check_beaten_rules(self) -> None:
        """A removal rule that one tried before it always beats never acts: said, since
        the admin wrote it to act (a narrower rule below a broader one, say). The first
        matching removal rule wins, so `first` beats `later` when it holds wherever
        `later` does, for the same kinds of item, and does not spare a moderator that
        `later` acts on."""
        default = self.model.exempt.moderators

        def exempts_moderators(rule: Rule) -> bool:
            if rule.moderators_exempt is not None:
                return rule.moderators_exempt
            if rule.if_.author and rule.if_.author.moderator:
                return False
            return default

        placed = [
            (i, rule, _kinds(rule), exempts_moderators(rule))
            for i, rule in sorted(
                zip(self.rule_index, self.model.rules), key=lambda p: (-p[1].priority, p[0])
            )
            if rule.is_removal
        ]
        if len(placed) > MAX_RULES_COMPARED:
            return  # pairs past counting: the file is checked in about a second still
        for n, (i, later, kinds, exempts) in enumerate(placed):
            first = next(
                (
                    rule
                    for _, rule, their_kinds, their_exempts in placed[:n]
                    if kinds <= their_kinds
                    and not (their_exempts and not exempts)
                    and covers(rule.if_, later.if_)
                ),
                None,
            )
            if first is None:
                continue
            self.add(
                ("rules", i, "if"),
                f"rule {later.name!r} can never act: rule {first.name!r} (priority "
                f"{first.priority}, tried first) matches every image it matches, and the first "
                f"matching removal rule wins; give {later.name!r} a higher priority than "
                f"{first.priority}, or put its actions in {first.name!r}",
                warning=True,
            )

    def check_quoted_false(self, at: tuple, rule: Rule) -> None:
        """`remove: "false"` is text, so the reason: the rule removes. Said, not refused
        (a reason may be any text)."""
        texts = {
            "remove": ("the removal reason", "removes", "remove"),
            "report": ("the report reason", "reports", "report"),
            "notify_admins": ("the message", "notifies the admins", "notify them"),
        }
        for key, (what, does, do) in texts.items():
            text = getattr(rule.then, key)
            if isinstance(text, str) and text.strip().lower() in _FALSE_WORDS:
                self.add(
                    (*at, "then", key),
                    f"rule {rule.name!r}: then.{key}: {text!r} in quotes is {what}, so the "
                    f"rule {does}; to not {do}, leave {key} out",
                    warning=True,
                )

    def check_placeholders(self, at: tuple, rule: Rule) -> None:
        texts: list[tuple[tuple[str, ...], str | None]] = [
            (("then", "remove"), rule.then.remove),
            (("then", "report"), rule.then.report),
            (("then", "notify_admins"), rule.then.notify_admins),
        ]
        if rule.then.ban:
            texts.append((("then", "ban", "reason"), rule.then.ban.reason))
        known = [*PLACEHOLDERS, *(f"scores.{s}" for s in sorted(self.scores))]
        # a rule may test any DeepDanbooru tag's score, so its text may show it
        tag_score = f"scores.{DANBOORU_TAG_SCORE}"
        for loc, text in texts:
            left = PLACEHOLDER.sub("", text or "")
            if "{{" in left or "}}" in left:
                # `{{rule}` would be sent as it is written: a typo, said as one
                self.add(
                    at + loc,
                    f"{text!r}: a {{{{ or }}}} with no other half; a placeholder is written "
                    "{{name}} (e.g. {{rule}})",
                )
            for name in PLACEHOLDER.findall(text or ""):
                if name not in known and not (
                    name.startswith(tag_score) and len(name) > len(tag_score)
                ):
                    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                    hint = f" (did you mean {{{{{close[0]}}}}}?)" if close else ""
                    self.add(
                        at + loc,
                        f"unknown placeholder {{{{{name}}}}}{hint}; "
                        f"known: {', '.join('{{' + k + '}}' for k in known)}, "
                        f"{{{{{tag_score}TAG}}}}",
                    )
