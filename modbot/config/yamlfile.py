"""A rules file read as YAML, bounded, keeping the line of every value.

The YAML is composed into nodes so each value keeps its line (``Lines``: a path in the
data -> the line of its value and of its key). The composer refuses, with the line,
what would blow up later: too many values, aliases expanded ("billion laughs"), an
alias inside the value it names, nesting too deep. Syntax errors come back as
``Problem``s with their line and a hint.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from modbot.config.words import describe
from modbot.errors import Problem

__all__ = ["MAX_DEPTH", "MAX_RULES_BYTES", "MAX_VALUES", "Lines", "read_yaml"]


@dataclass
class Lines:
    """Path in the data (`("rules", 0, "then", "ban")`) -> line of its value and of its key;
    and each path whose value is a YAML alias (`ban: *ban`, or a key `<<: *defaults`
    merged) -> the anchor's name, the line of the alias and that of the anchored value."""

    value: dict[tuple, int] = field(default_factory=dict)
    key: dict[tuple, int] = field(default_factory=dict)
    alias: dict[tuple, tuple[str, int, int, bool]] = field(default_factory=dict)

    def find(self, loc: tuple, key: bool = False) -> int:
        return self.place(loc, key)[0]

    def place(self, loc: tuple, key: bool = False) -> tuple[int, str]:
        """The line of the value at `loc` (of its key, with `key`), and a note naming the
        anchor when the value is written there: within `ban: *ban` the line is the
        alias's (the rule that uses it), and the note `(written at &ban, line 5)`."""
        path: tuple = ()
        for element in loc:
            if (*path, element) in self.value:
                path = (*path, element)
        line = self.key[path] if key and path in self.key else self.value.get(path, 1)
        for end in range(len(path) + 1):
            if path[:end] not in self.alias:
                continue
            name, used, anchored, merged = self.alias[path[:end]]
            if key and end == len(path) and not merged:
                continue  # the key of `ban: *ban` is written in the rule
            written = anchored if end == len(path) and not key else line
            return used, f" (written at &{name}, line {written})"
        return line, ""


class _Constructor(yaml.constructor.SafeConstructor):
    pass


# Bounds on what a rules file may make the loader do, so that any file is checked in
# about a second: the shipped file has 7 KB, about 300 values, nested 6 deep; a
# thousand short rules take about 60 KB and 12,000 values.
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
        self._written = 0  # values so far as written, each alias one
        self._depth = 0
        self._open: set[str] = set()  # anchors whose value is being composed
        self._measure: dict[str, tuple[int, int]] = {}  # anchor -> (values, depth)
        self._deepest = 0

    def _refuse(self, message: str, mark: Any) -> None:
        raise _Refused(None, None, message, mark)

    def _count(self, values: int, depth: int, mark: Any) -> None:
        self._values += values
        self._deepest = max(self._deepest, depth)
        if self._values > MAX_VALUES and self._written <= MAX_VALUES:
            self._refuse(
                f"more than {MAX_VALUES} values (YAML aliases *name counted as "
                'the values they repeat; a "billion laughs" file?): a rules file '
                "needs far fewer",
                mark,
            )
        if self._values > MAX_VALUES:
            # as written, no aliases needed: a long file, not a bomb, and said so
            self._refuse(
                f"more than {MAX_VALUES:,} values (keys, values and list items) by this "
                "line, the limit for a rules file (the shipped one has about 300, a "
                "thousand short rules about 12,000): merge rules that act alike (one rule "
                "takes a list of labels, types or hash lists)",
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
            self._written += 1
            if event.anchor in self._measure:
                values, depth = self._measure[event.anchor]
                self._count(values, self._depth + depth, event.start_mark)
            anchored: Any = super().compose_node(parent, index)
            # the anchored node at the alias's place, so a problem in it names the line
            # of the rule using it (and the anchor's, Lines.place), not the anchor's alone
            used: Any = copy.copy(anchored)
            used.start_mark, used.end_mark = event.start_mark, event.end_mark
            used.alias_of = (event.anchor, anchored.start_mark.line + 1)
            return used
        anchor = event.anchor
        before, deepest, self._deepest = self._values, self._deepest, self._depth + 1
        if anchor is not None:
            self._open.add(anchor)
        self._depth += 1
        self._written += 1
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
        why = str(exc)
        if "integer string conversion" in why:  # Python's own advice is no admin's
            why = f"a number of {len(str(node.value))} digits: give a smaller one"
        problems.append(
            Problem(
                file,
                node.start_mark.line + 1,
                f"cannot read the value {describe(node.value)}: {why}",
            )
        )
        return node.value if isinstance(node.value, str) else None


def _to_data(node: yaml.Node, path: tuple, lines: Lines, problems: list, file: str) -> Any:
    lines.value[path] = node.start_mark.line + 1
    alias = getattr(node, "alias_of", None)
    if alias is not None:
        name, anchored = alias
        lines.alias[path] = (name, node.start_mark.line + 1, anchored, False)
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        merged: list[dict] = []
        merged_at: dict[str, tuple[str, int, int, bool]] = {}  # key -> alias merging it
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults`
                outer = lines.alias.get(path)
                value = _to_data(value_node, path, lines, problems, file)
                lines.alias.pop(path, None)
                if outer is not None:
                    lines.alias[path] = outer
                _merged_from(value_node, key_node.start_mark.line + 1, merged_at)
                for part in value if isinstance(value, list) else [value]:
                    if isinstance(part, dict):
                        merged.append(part)
                    else:
                        problems.append(
                            Problem(
                                file,
                                key_node.start_mark.line + 1,
                                f"`<<:` merges a mapping (an &anchor), not {describe(part)}",
                            )
                        )
                lines.value[path] = node.start_mark.line + 1
                continue
            key = _construct(key_node, problems, file)
            line = key_node.start_mark.line + 1
            if isinstance(key, (bool, int, float)) and isinstance(key_node, yaml.ScalarNode):
                # every key modbot knows is a word: `on:` or `no:` (YAML 1.1 reads them as
                # true, false) and `5:` are taken as written, and said as written
                key = key_node.value
            if not isinstance(key, str):
                problems.append(Problem(file, line, f"a key must be a plain word, got {key!r}"))
                continue
            if key in out:
                first = lines.key[(*path, key)]
                problems.append(
                    Problem(file, line, f"duplicate key {key!r} (first at line {first})")
                )
                continue
            lines.key[(*path, key)] = line
            out[key] = _to_data(value_node, (*path, key), lines, problems, file)
        for key, at in merged_at.items():
            if key not in out:
                lines.alias[(*path, key)] = at
        for part in merged:  # explicit keys win over merged ones
            for key, value in part.items():
                out.setdefault(key, value)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_data(n, (*path, i), lines, problems, file) for i, n in enumerate(node.value)]
    return _construct(node, problems, file)


def _merged_from(value_node: yaml.Node, line: int, merged_at: dict) -> None:
    """For each key that `<<: *name` (or `<<: [*a, *b]`, the first one giving a key wins)
    merges: the anchor's name, the line of the `<<`, and the line of the key's value."""
    parts = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
    for part in parts:
        alias = getattr(part, "alias_of", None)
        if alias is None or not isinstance(part, yaml.MappingNode):
            continue
        for key_node, value in part.value:
            if isinstance(key_node, yaml.ScalarNode):
                merged_at.setdefault(
                    key_node.value, (alias[0], line, value.start_mark.line + 1, True)
                )


def _unclosed_quote(text: str, exc: yaml.MarkedYAMLError) -> int | None:
    """The line of a quote whose closing quote looks missing, where ``exc`` shows only
    where the quoted text ended up ending (the next quote, lines below, or the end of the
    file): a quoted scalar never closed, or one running over several lines right up to
    the error. None when no quote is to blame."""
    if exc.context == "while scanning a quoted scalar" and exc.context_mark is not None:
        return int(exc.context_mark.line) + 1  # the end of the file came first
    mark = exc.problem_mark
    if mark is None:
        return None
    last = None
    try:  # the tokens up to the error (a scan only: the file is under MAX_RULES_BYTES)
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= mark.index:
                break
            if isinstance(token, yaml.ScalarToken) and token.style in ("'", '"'):
                last = token
    except yaml.YAMLError:
        pass
    if last is None or last.end_mark.line == last.start_mark.line:
        return None  # on one line: its quotes are closed
    if last.end_mark.line < mark.line - 1:
        return None  # other lines came between it and the error
    return int(last.start_mark.line) + 1


def read_yaml(text: str, file: str) -> tuple[Any, Lines, list[Problem]]:
    """Parse YAML keeping lines. Syntax errors come back as problems with their line."""
    lines, problems = Lines(), list[Problem]()
    try:
        node = yaml.compose(text, Loader=_BoundedLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = exc.problem or str(exc)
        context = f" ({exc.context})" if exc.context else ""
        source = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
        hint = ""
        refused = isinstance(exc, _Refused)
        opened = None if refused else _unclosed_quote(text, exc)
        if opened is not None:
            # said where the error shows, lines below, the fault is not: say the quote's line
            hint = (
                f" at line {line}; the text in quotes that opens on line {opened} runs on to "
                "there: is its closing quote missing?"
            )
            line = opened
        elif refused:
            pass  # well-formed YAML over a bound: a syntax hint would send the admin astray
        elif "'\\t'" in what:
            hint = "; indent with spaces, not tabs"
        elif "{{" in re.sub(r'"[^"]*"|\'[^\']*\'', "", source):  # out of quotes
            hint = '; text with {{placeholders}} must be in quotes: "..."'
        elif re.search(r":\s*[<>]", source):
            hint = '; put comparisons in quotes: "> 0.02"'
        elif "mapping values are not allowed" in what:
            # `report: Flagged: please look`: the second ": " starts a mapping
            hint = '; text with ": " in it must be in quotes: "..."'
        elif re.search(r"found '<block (mapping|sequence) start>'", what):
            # a key one space off (`   then:` under `    if:`) or a list item out of line
            hint = (
                "; this line is indented differently from the lines above it: the keys of "
                "one mapping, and the dashes of one list, start in the same column"
            )
        kind = "YAML error" if refused else "YAML syntax error"
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
        # a list at the top is most likely rules written without `rules:` above them
        hint = (
            ": write `rules:` on the first line, then the rules under it, each starting "
            "with `- name:`"
            if isinstance(data, list)
            else ""
        )
        problems.append(
            Problem(
                file,
                lines.find(()),
                "the top level must be a mapping "
                "(classifier:, hash_lists:, rules:, ...), not a "
                f"{type(data).__name__}{hint}",
            )
        )
        return None, lines, problems
    return data, lines, problems
