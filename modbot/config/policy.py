"""The policy: a rules.yaml validated, with its hash lists loaded (``load_policy``).

What the rest of modbot reads of the configuration file: the settings sections
(classifier, fetch, lemmy, schedule, safety valve, exemptions), the custom concepts,
the hash lists and the rules in the order they are tried. Matching an image against it
is ``modbot.rules``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modbot.config.checks import validate
from modbot.config.files import read_text_file
from modbot.config.schema import (
    BUILTIN_LABELS,
    BUILTIN_SCORES,
    ClassifierSettings,
    ConceptSettings,
    ExemptSettings,
    FetchSettings,
    GateSettings,
    LemmySettings,
    PolicyFile,
    Rule,
    SafetyValveSettings,
    ScheduleSettings,
)
from modbot.config.units import format_duration
from modbot.config.yamlfile import MAX_RULES_BYTES
from modbot.errors import PolicyError, Problem, UnusableFile
from modbot.hashes import HASH_KINDS, HashList

if TYPE_CHECKING:
    from modbot.rules import Plan, Subject
    from modbot.subscriptions import FeedList

__all__ = ["Policy", "load_policy", "reread_policy", "resolve_rules_path"]


def resolve_rules_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The policy file: `explicit` (FILE / --rules), else `$MODBOT_RULES`, else ./rules.yaml."""
    return Path(explicit or os.environ.get("MODBOT_RULES") or "rules.yaml")


@dataclasses.dataclass
class Policy:
    """A validated rules.yaml with its hash lists loaded. Build with `load_policy(path)`;
    `replace(...)` gives a copy with some settings sections replaced."""

    path: Path
    classifier: ClassifierSettings
    concepts: dict[str, ConceptSettings]
    # The hash lists, and the subscribed feeds used as lists (known-bad, allow-list)
    hash_lists: dict[str, HashList | FeedList]
    fetch: FetchSettings
    lemmy: LemmySettings
    schedule: ScheduleSettings
    safety_valve: SafetyValveSettings
    exempt: ExemptSettings
    rules: list[Rule]
    warnings: list[Problem]
    # Every subscribed feed (``feeds:``), by name; filled by ``modbot.subscriptions.refresh``
    feeds: dict[str, FeedList] = dataclasses.field(default_factory=dict)
    gate: GateSettings = dataclasses.field(default_factory=GateSettings)  # `modbot gate`

    @classmethod
    def of(
        cls, path: Path, model: PolicyFile, hash_lists: dict[str, HashList], warnings: list[Problem]
    ) -> Policy:
        from modbot.subscriptions import FeedList

        feeds = {name: FeedList(name, spec) for name, spec in model.feeds.items()}
        return cls(
            path=path,
            classifier=model.classifier,
            concepts=dict(model.concepts),
            hash_lists={
                **hash_lists,
                **{n: f for n, f in feeds.items() if f.use != "classified"},
            },
            feeds=feeds,
            fetch=model.fetch,
            lemmy=model.lemmy,
            schedule=model.schedule,
            safety_valve=model.safety_valve,
            exempt=model.exempt,
            rules=list(model.rules),
            warnings=warnings,
            gate=model.gate,
        )

    def replace(
        self,
        *,
        classifier: ClassifierSettings | None = None,
        fetch: FetchSettings | None = None,
        lemmy: LemmySettings | None = None,
        schedule: ScheduleSettings | None = None,
    ) -> Policy:
        """A copy of this policy with the given settings sections instead (the rules,
        concepts and hash lists are the same)."""
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("classifier", classifier),
                ("fetch", fetch),
                ("lemmy", lemmy),
                ("schedule", schedule),
            )
            if value is not None
        }
        return dataclasses.replace(self, **changes)

    # --- what the file says, as the bot needs it
    @property
    def labels(self) -> frozenset[str]:
        return frozenset(BUILTIN_LABELS) | frozenset(self.concepts)

    @property
    def scores(self) -> frozenset[str]:
        return frozenset(BUILTIN_SCORES) | frozenset(self.concepts)

    @property
    def ordered_rules(self) -> list[Rule]:
        """The rules in the order they are tried: by `priority` (higher first), then as
        written."""
        order = sorted(range(len(self.rules)), key=lambda i: (-self.rules[i].priority, i))
        return [self.rules[i] for i in order]

    @property
    def checkpoint_path(self) -> Path | None:
        """classifier.checkpoint resolved against the rules file's folder; ``~`` is the
        home folder, as in classifier.deepdanbooru (and as a shell reads it)."""
        c = self.classifier.checkpoint
        if c is None:
            return None
        expanded = os.path.expanduser(c)
        return Path(expanded) if os.path.isabs(expanded) else self.path.parent / c

    @property
    def deepdanbooru_setting(self) -> str:
        """classifier.deepdanbooru: auto, off, or a path resolved against the rules file's folder."""
        d = self.classifier.deepdanbooru
        if d in ("auto", "off"):
            return d
        return str(
            Path(d).expanduser() if os.path.isabs(os.path.expanduser(d)) else self.path.parent / d
        )

    @property
    def hash_kinds(self) -> tuple[str, ...]:
        """The kinds of hash the lists hold (``modbot.hashes.HASH_KINDS``): the hashes an
        image needs, in the table's order."""
        used: set[str] = set()
        for h in [*self.hash_lists.values(), *self.feeds.values()]:
            used |= h.kinds
        return tuple(name for name in HASH_KINDS if name in used)

    @property
    def decoded_hash_kinds(self) -> tuple[str, ...]:
        """Of those, the kinds whose hash decodes the image (taken while its bytes are
        held, under the decode budget)."""
        return tuple(k for k in self.hash_kinds if HASH_KINDS[k].cost == "decode")

    @property
    def allow_lists(self) -> list[str]:
        """The lists whose images are never acted on: ``exempt.hash_lists`` and the
        feeds used as an allow-list."""
        feeds = [n for n, f in self.feeds.items() if f.use == "allow-list"]
        return [*self.exempt.hash_lists, *feeds]

    @property
    def acts_on_skips(self) -> bool:
        """Some rule has a `skipped:` or `fetch_failed:` condition (only those can match
        an image that was not checked)."""
        return any(r.if_.skipped is not None or r.if_.fetch_failed is not None for r in self.rules)

    def same_classifier(self, other: Policy) -> bool:
        """Whether ``other`` builds the same classifier (``classifier:``, ``concepts:``,
        the checkpoint's file): what a running process cannot change under itself."""
        return (self.classifier, self.concepts, self.checkpoint_path) == (
            other.classifier,
            other.concepts,
            other.checkpoint_path,
        )

    def summary(self, pictrs: bool | None = None) -> str:
        """The policy in one line. ``pictrs``: whether PICTRS_URL and PICTRS_API_KEY are
        set, which the store sweep needs (None: not known here, so the line says so)."""
        gate = sum("incoming" in (r.if_.type or ()) for r in self.rules)
        removal = sum(r.is_removal for r in self.rules) - gate
        lists = ", ".join(
            f"{n} ({h.describe()})" for n, h in self.hash_lists.items() if n not in self.feeds
        )
        feeds = ", ".join(f"{n} ({f.describe()})" for n, f in self.feeds.items())
        c = self.classifier
        model = f"{c.model}/{c.checkpoint or c.pretrained} on {c.device}"
        if c.remote is not None:
            model = f"on workers {', '.join(c.remote.urls)}"
        s = self.schedule
        sweep = "no sweep"
        if s.sweep_cron:
            back = format_duration(s.sweep_since) if s.sweep_since else "over everything"
            sweep = f"sweep '{s.sweep_cron}' UTC back {back}"
        # the daemon walks pict-rs' whole store only through its internal API
        store = "no store sweep"
        if s.store_sweep_cron and pictrs is not False:
            store = f"store sweep '{s.store_sweep_cron}' UTC"
            if pictrs is None:
                store += " (with PICTRS_URL and PICTRS_API_KEY)"
        elif s.store_sweep_cron:
            store = "no store sweep (PICTRS_URL and PICTRS_API_KEY are not set)"
        n = len(self.rules)
        return (
            f"{n} rule{'s' * (n != 1)} ({removal} removal, {n - removal - gate} "
            f"report/notify{f', {gate} at the upload gate' if gate else ''}); hash lists: "
            f"{lists or 'none'}; {f'feeds: {feeds}; ' if feeds else ''}custom concepts: "
            f"{', '.join(self.concepts) or 'none'}; classifier {model}; "
            f"poll every {format_duration(s.poll_every)}, {sweep}, {store}"
        )

    def decide(self, subject: Subject, now: datetime | None = None) -> Plan:
        """The plan for one image in one item (``modbot.rules.decide``)."""
        from modbot.rules import decide

        return decide(self, subject, now)


def load_policy(
    path: str | os.PathLike[str] | None = None, *, gate_upload_timeout: float | None = None
) -> Policy:
    """Read and validate a rules.yaml (default: `resolve_rules_path()`), load its hash lists.

    Raises `PolicyError` (`.problems`: each `FILE:LINE: message`) when anything is wrong;
    warnings are kept in `policy.warnings`. ``gate_upload_timeout``: `modbot gate`'s
    --upload-timeout, which then holds gate.budget (not the default 30 s).
    """
    path = resolve_rules_path(path)
    shown = str(path)
    try:
        data = read_text_file(path, max_bytes=MAX_RULES_BYTES, what="a rules file")
        text = data.decode("utf-8-sig")  # a BOM from a Windows editor is fine
    except FileNotFoundError:
        raise PolicyError(
            [
                Problem(
                    shown, 1, "no such file (give the rules file as --rules FILE or MODBOT_RULES)"
                )
            ]
        ) from None
    except UnusableFile as exc:
        raise PolicyError([Problem(shown, exc.line or 1, str(exc))]) from None
    except UnicodeDecodeError as exc:  # Latin-1 or UTF-16 from an editor, say
        line = exc.object[: exc.start].count(b"\n") + 1
        byte = exc.object[exc.start : exc.start + 1].hex()
        raise PolicyError(
            [
                Problem(
                    shown,
                    line,
                    f"not UTF-8 text (byte 0x{byte} on this line): save the file as UTF-8",
                )
            ]
        ) from None
    except OSError as exc:
        raise PolicyError([Problem(shown, 1, f"cannot read the file: {exc}")]) from None
    result = validate(text, shown, path.parent, gate_upload_timeout)
    if result.errors or result.model is None:
        raise PolicyError(result.problems)
    return Policy.of(
        path, result.model, result.hash_lists, [p for p in result.problems if p.warning]
    )


def reread_policy(
    path: Path,
    take: Callable[[Policy], str | None],
    problem: Callable[[Problem], None],
    *,
    gate_upload_timeout: float | None = None,
) -> Policy | str:
    """The rules file read again by a running process (SIGHUP) and handed to ``take``
    (which answers why it cannot use it, or None): the policy taken, or why it was not.
    Each problem of a file that is not valid goes to ``problem`` first (the log), so the
    admin sees where; the caller keeps the rules it has. ``gate_upload_timeout``: as
    for ``load_policy``."""
    try:
        policy = load_policy(path, gate_upload_timeout=gate_upload_timeout)
    except PolicyError as exc:
        for each in exc.problems:
            problem(each)
        return f"{path} is not valid (see `modbot check-rules {path}`)"
    except Exception as exc:  # unreadable, gone: the rules in use stay
        return f"{path} cannot be read ({exc})"
    return take(policy) or policy
