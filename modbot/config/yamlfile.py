"""A rules file read as YAML, bounded, keeping the line of every value.

The YAML is composed into nodes so each value keeps its line (``Lines``: a path in the
data -> the line of its value and of its key). The composer refuses, with the line,
what would blow up later: too many values, aliases expanded ("billion laughs"), an
alias inside the value it names, nesting too deep. Syntax errors come back as
``Problem``s with their line and a hint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from modbot.config.words import describe
from modbot.errors import Problem

__all__ = ["MAX_DEPTH", "MAX_RULES_BYTES", "MAX_VALUES", "Lines", "read_yaml"]


@dataclass
class Lines:
    """Path in the data (`("rules", 0, "then", "ban")`) -> line of its value and of its key."""

    value: dict[tuple, int] = field(default_factory=dict)
    key: dict[tuple, int] = field(default_factory=dict)

    def find(self, loc: tuple, key: bool = False) -> int:
        path: tuple = ()
        for element in loc:
            if (*path, element) in self.value:
                path = (*path, element)
        if key and path in self.key:
            return self.key[path]
        return self.value.get(path, 1)


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
            return super().compose_node(parent, index)
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
        for part in merged:  # explicit keys win over merged ones
            for key, value in part.items():
                out.setdefault(key, value)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_data(n, (*path, i), lines, problems, file) for i, n in enumerate(node.value)]
    return _construct(node, problems, file)


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
        if "'\\t'" in what:
            hint = "; indent with spaces, not tabs"
        elif "{{" in source:
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
