"""Rule matching: which rules of rules.yaml hold for one image in one item, and what to do.

AutoModerator semantics (see docs/rules.md): every condition of a rule must hold; rules
are tried by `priority` (higher first, then file order); among removal rules (remove,
purge_item, purge_image, ban) the first that matches wins; report and notify rules all
apply (an item's one report and one notice: the first by priority's). Admins are never
acted on; moderators of the item's community are exempt unless
a rule says `moderators_exempt: false`; exempt users, communities and allow-listed
hashes are never acted on. The plan says which conditions held, for the audit record.

``decide(policy, subject)`` is the whole of it: a ``Subject`` (one image in one item, as
the rules see it) in, a ``Plan`` out. What each kind of action is comes from the action
table (``modbot.actions.kinds``); which hashes an image has, from the hash-kind table
(``modbot.hashes``).

Matching and the placeholders belong together: each condition of a rule is a small
function here, in the order docs/rules.md describes them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from modbot.actions.kinds import ACTIONS, MODERATORS_EXEMPT, takes_item_down
from modbot.actors import community_keys as _community_keys
from modbot.actors import user_keys as _user_keys
from modbot.config.schema import PLACEHOLDER, Rule, is_fetch_failure, reason_matches
from modbot.config.units import format_duration
from modbot.config.words import cut
from modbot.hashes import HASH_KINDS, hashes_of
from modbot.markdown import MAX_VALUE, inert, lemmy_length
from modbot.model import FILE_KINDS, PlannedAction

if TYPE_CHECKING:
    from modbot.config.policy import Policy

log = logging.getLogger(__name__)

__all__ = [
    "Plan",
    "PlannedAction",
    "RuleMatch",
    "Subject",
    "decide",
    "describe_rule",
    "render",
    "uploader_exemption",
]


@dataclass(kw_only=True)
class Subject:
    """One image in one item, as the rules see it. Unknown facts stay None and never match."""

    item_kind: str  # post | comment | upload | incoming (a file at the upload gate)
    found_in: str | None = None  # post_url | thumbnail | body | comment | upload
    item_local: bool | None = None  # created on this instance (default: author_local)
    community_name: str | None = None  # "pics@lemmy.example" (or the actor id URL)
    community_nsfw: bool | None = None
    community_local: bool | None = None
    author_actor_id: str | None = None  # "https://lemmy.example/u/someone"
    author_local: bool | None = None
    author_bot: bool | None = None
    author_published: datetime | str | None = None
    author_is_moderator: bool = False  # moderates the item's community
    author_is_admin: bool = False
    labels: Iterable[str] = ()
    scores: Mapping[str, float] = field(default_factory=dict)
    # the classifier's reason the image did not decode; a skipped image (no verdict) is
    # neither readable nor unreadable
    unreadable: str | bool | None = None
    skipped: str | None = None  # why the image was not checked (too_many_images, ...)
    # The download that failed: the image's (then it is skipped too), or its original's
    # when the instance's copy was checked instead (`checked_copy`: that copy's URL).
    fetch_failed: str | None = None  # the reason code (not_an_image, http_404, ...)
    fetch_failed_detail: str | None = None  # the same in words ("the server answered ...")
    checked_copy: str | None = None
    sha256: str | None = None
    # The image's hashes by kind (modbot.hashes.HASH_KINDS) where already known; a kind
    # a hash list needs that is not here is computed from `image`.
    hashes: Mapping[str, str] = field(default_factory=dict)
    image: Any = None  # bytes or PIL image: for the hashes not known yet
    phash: str | None = None  # the perceptual hash, if already known (as hashes["phash"])
    permalink: str | None = None
    image_url: str | None = None
    # Another item that shows the same file is exempt (why, naming it): an upload of
    # that file is exempt too (see `Plan.spares_file`).
    file_exempt: str | None = None

    def __post_init__(self) -> None:
        if self.fetch_failed is None and is_fetch_failure(self.skipped):
            self.fetch_failed = self.skipped  # a skip that is a failed download is one

    @classmethod
    def from_verdict(cls, verdict: Any, **fields: Any) -> Subject:
        """A subject whose labels, scores, unreadable and sha256 come from a classifier Verdict."""
        return cls(
            labels=tuple(verdict.labels),
            scores=dict(verdict.scores),
            unreadable=verdict.unreadable,
            sha256=verdict.sha256,
            **fields,
        )

    def known_hashes(self) -> dict[str, str]:
        known = dict(self.hashes)
        for name, value in (("sha256", self.sha256), ("phash", self.phash)):
            if value is not None:
                known.setdefault(name, value)
        return known


@dataclass(frozen=True)
class RuleMatch:
    """A rule whose conditions held, which ones, and what became of it (`outcome`):
    "acted", "exempt: <why>", "superseded by '<rule>'" or "report already planned by '<rule>'"."""

    rule: str
    conditions: tuple[str, ...]
    outcome: str


@dataclass
class Plan:
    """What to do about one image. No actions means nothing is done.

    `rule` is the rule that decided (the removal rule that won, else the first report or
    notify rule; when an exemption stopped everything, the rule that would have acted,
    with `exempt` saying why). `hash_lists` maps each list the image is on to how it
    matched ("sha256", "phash distance 3"). `hashes` are the image's hashes of the kinds
    the policy's lists hold (for the audit record: what to allow-list); `phash` the
    perceptual one. `spares_file`: the item stays up because of an exemption (`exempt`,
    or a moderator exempt from a removal rule), so every other decision must spare its
    file (why), else None.
    """

    rule: str | None = None
    actions: list[PlannedAction] = field(default_factory=list)
    exempt: str | None = None
    matched: list[RuleMatch] = field(default_factory=list)
    hash_lists: dict[str, str] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    spares_file: str | None = None

    @property
    def phash(self) -> str | None:
        return self.hashes.get("phash")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- deciding ------------------------------------------------------------------------------


def decide(policy: Policy, subject: Subject, now: datetime | None = None) -> Plan:
    """The plan for one image in one item (see the module docstring for the semantics)."""
    hashes = _hashes(policy, subject)
    plan = Plan(hash_lists=hash_matches(policy, hashes), hashes=hashes)
    facts = _Facts(subject, now or datetime.now(UTC), plan.hash_lists, policy.labels, hashes)
    matches = [(r, c) for r in policy.ordered_rules if (c := _conditions(r, facts)) is not None]
    exempt = _global_exemption(policy, subject, plan.hash_lists)
    if exempt and not any(name in plan.hash_lists for name in policy.allow_lists):
        plan.spares_file = exempt  # an allow-list spares the file everywhere already
    if not exempt and subject.item_kind in FILE_KINDS and subject.file_exempt:
        # The upload is the very file an exempt item shows: purging it would break
        # that item, banning its uploader would punish what the exemption allows.
        exempt = subject.file_exempt
    if exempt:
        plan.exempt = exempt
        plan.matched = [RuleMatch(r.name, c, f"exempt: {exempt}") for r, c in matches]
    else:
        _apply(policy, plan, matches, facts)
    acted = [m.rule for m in plan.matched if m.outcome == "acted"]
    plan.rule = acted[0] if acted else (plan.matched[0].rule if plan.matched else None)
    return plan


def hash_matches(policy: Policy, hashes: Mapping[str, str]) -> dict[str, str]:
    """Each hash list the image is on -> how it matched."""
    hits = {}
    for name, hl in policy.hash_lists.items():
        why = hl.lookup(hashes)
        if why:
            hits[name] = why
    return hits


def _hashes(policy: Policy, subject: Subject) -> dict[str, str]:
    """The subject's hashes of the kinds the lists hold. One of the image's content (a
    perceptual hash) that is not known yet is computed from `image`, but never by a
    second decode of an image the classifier refused (a bomb, say); a hash of the file's
    bytes comes with the subject (the pipeline takes it while it holds them)."""
    known = subject.known_hashes()
    wanted = [k for k in policy.decoded_hash_kinds if k not in known]
    if wanted and subject.image is not None and not subject.unreadable:
        known.update(hashes_of(subject.image, wanted))
    return {k: known[k] for k in policy.hash_kinds if k in known}


def _apply(
    policy: Policy, plan: Plan, matches: list[tuple[Rule, tuple[str, ...]]], facts: _Facts
) -> None:
    """Removal rules first (the first wins), then report and notify rules. The one
    report and the one notice of an item are the first by priority's (`_claims`)."""
    subject, winner, down = facts.subject, None, None
    # kinds told once per item -> the rule that plans it
    told = _claims(policy, [r for r, _ in matches], subject)
    ordered = [m for m in matches if m[0].is_removal] + [m for m in matches if not m[0].is_removal]
    for rule, conds in ordered:
        outcome = "acted"
        if rule.is_removal and winner is not None:
            outcome = f"superseded by {winner.name!r}"
        elif subject.author_is_moderator and _moderators_exempt(policy, rule):
            outcome = "exempt: the author moderates this community"
        else:
            planned = _actions(rule, subject, facts, down, told)
            if _moderators_exempt(policy, rule):
                _spare_moderators(planned, subject)
            if not planned:
                outcome = _why_nothing(rule, down, told)
            plan.actions += planned
            if rule.is_removal:
                winner = rule
                if any(_takes_item_down(a, subject.item_kind) for a in planned):
                    down = rule
        plan.matched.append(RuleMatch(rule.name, conds, outcome))
    if any(m.outcome.startswith("exempt: ") for m in plan.matched):
        if not plan.actions:
            plan.exempt = "the author moderates this community"
        if not any(ACTIONS[a.kind].takes_down(a.params) for a in plan.actions):
            plan.spares_file = "the author moderates this community"


def _claims(policy: Policy, rules: list[Rule], subject: Subject) -> dict[str, str]:
    """Which rule plans each kind told once per item (a report, a notice): the first by
    priority (`rules` are in that order) of those that act and would plan it. Removal
    rules are planned first (the winner decides whether the item stays up for a
    report), so their notices would otherwise win over a higher rule's."""

    def exempt(rule: Rule) -> bool:
        return subject.author_is_moderator and _moderators_exempt(policy, rule)

    winner = next((r for r in rules if r.is_removal and not exempt(r)), None)
    down = None
    if winner is not None and any(
        kind.asked(winner.then)
        and takes_item_down(
            kind.name, kind.ask(winner.then, subject.community_name)[1], subject.item_kind
        )
        for kind in ACTIONS.values()
    ):
        down = winner
    claims: dict[str, str] = {}
    for rule in rules:
        if exempt(rule) or (rule.is_removal and rule is not winner):
            continue  # it plans nothing
        for kind in ACTIONS.values():
            if not (kind.once_per_item and kind.asked(rule.then)):
                continue
            if kind.needs_item_up and down is not None and down is not rule:
                continue
            claims.setdefault(kind.name, rule.name)
    return claims


def _moderators_exempt(policy: Policy, rule: Rule) -> bool:
    if rule.moderators_exempt is not None:
        return rule.moderators_exempt
    if rule.if_.author and rule.if_.author.moderator:
        return False  # a rule about moderators is meant to apply to them
    return policy.exempt.moderators


def _global_exemption(policy: Policy, s: Subject, hits: dict[str, str]) -> str | None:
    if s.author_is_admin:
        return "the author is an admin"
    user_keys = _user_keys(s.author_actor_id, s.author_local)
    for entry in policy.exempt.users:
        if _normal(entry, "@") in user_keys:
            return f"the author is in exempt.users ({entry})"
    community_keys = _community_keys(s.community_name, s.community_local)
    for entry in policy.exempt.communities:
        if _normal(entry, "!") in community_keys:
            return f"the community is in exempt.communities ({entry})"
    for name in policy.allow_lists:
        if name in hits:
            return f"the image is on the allow-list {name!r} ({hits[name]})"
    return None


def uploader_exemption(policy: Policy, actor_id: str) -> str | None:
    """Why a ``ban: {uploader: true}`` spares an image's uploader (a local user): the
    global exemptions hold for them as for an item's author (admins are the handler's)."""
    uploader = Subject(item_kind="upload", author_actor_id=actor_id, author_local=True)
    why = _global_exemption(policy, uploader, {})
    return None if why is None else why.replace("the author", "the uploader", 1)


def _takes_item_down(action: PlannedAction, item_kind: str) -> bool:
    """Whether `action` takes the item itself down, so that a report on it would only
    make the moderators review a removed item: the action table says
    (``modbot.actions.kinds.takes_item_down``), for the executor alike."""
    return takes_item_down(action.kind, action.params or {}, item_kind)


def _actions(
    rule: Rule, s: Subject, facts: _Facts, down: Rule | None, told: dict[str, str]
) -> list[PlannedAction]:
    """The actions `rule` asks for, in the action table's order. A report is left out
    when another rule took the item down (`down`, see `_takes_item_down`). One report
    and one notification per item: the rule `told` names for it plans it."""
    out: list[PlannedAction] = []
    for kind in ACTIONS.values():
        if not kind.asked(rule.then):
            continue
        if kind.needs_item_up and down is not None and down is not rule:
            continue
        if kind.once_per_item and told.setdefault(kind.name, rule.name) != rule.name:
            continue  # another rule (the first by priority) plans it
        text, params = kind.ask(rule.then, s.community_name)
        reason = None if text is None else render(text, s, rule.name, facts, kind.max_reason)
        out.append(PlannedAction(kind.name, reason, params, rule.name))
    return out


def _spare_moderators(planned: list[PlannedAction], subject: Subject) -> None:
    """A rule's exemption holds for everyone its actions reach. A stored file's removal,
    purge_item and report go to each post and comment showing it, by anyone, in any
    community, and its ban, no uploader known, to the creator of the first of them; a
    post's or comment's `ban: {uploader: true}` to who uploaded its image: where the rule
    exempts moderators, they carry it (``MODERATORS_EXEMPT``) and the handler spares a
    moderator's item, or them, in the community they moderate."""
    file_kinds = ("remove", "purge_item", "report", "ban")
    for action in planned:
        shown = subject.item_kind == "file" and action.kind in file_kinds
        if shown or (action.kind == "ban" and action.params.get("uploader")):
            action.params[MODERATORS_EXEMPT] = True


def _why_nothing(rule: Rule, down: Rule | None, told: dict[str, str]) -> str:
    if down is not None and rule.then.report and not rule.then.notify_admins:
        return f"item already removed by {down.name!r}"
    by = told.get("report") or told.get("notify_admins")
    return f"report already planned by {by!r}"


# --- conditions ----------------------------------------------------------------------------------


@dataclass
class _Facts:
    subject: Subject
    now: datetime
    hash_hits: dict[str, str]
    known_labels: frozenset[str]
    hashes: Mapping[str, str] = field(default_factory=dict)

    @property
    def labels(self) -> set[str]:
        return set(self.subject.labels or ())


def _conditions(rule: Rule, f: _Facts) -> tuple[str, ...] | None:
    """The conditions of `rule` as held by `f` (readable), or None if one does not hold."""
    c, s, held = rule.if_, f.subject, []
    if (s.item_kind == "incoming") != ("incoming" in (c.type or ())):
        return None  # the gate's files and Lemmy's items never meet the other's rules
    if c.type and "any" not in c.type:
        if s.item_kind not in c.type:
            return None
        held.append(f"type {s.item_kind}")
    if c.found_in:
        if s.found_in not in c.found_in:
            return None
        held.append(f"found in {s.found_in}")
    if c.skipped is None and c.fetch_failed is None:
        if s.skipped:
            return None  # an image that was not checked: only rules about skips apply
    else:
        # each is true or a list of reasons (the schema refuses false)
        if c.skipped is not None:
            if not reason_matches(s.skipped, c.skipped):
                return None
            held.append(f"skipped ({s.skipped})")
        if c.fetch_failed is not None:
            # also an image checked through the instance's copy: the copy may not be what
            # the link shows people (a thumbnail made from a decoy page, say)
            if not reason_matches(s.fetch_failed, c.fetch_failed):
                return None
            copy = ", the instance's copy checked" if s.checked_copy else ""
            held.append(f"fetch failed ({s.fetch_failed}{copy})")
    if c.unreadable is not None:
        # an image that was not checked (skipped) has no verdict: neither readable nor not
        if s.skipped or bool(s.unreadable) != c.unreadable:
            return None
        held.append(f"unreadable ({s.unreadable})" if c.unreadable else "readable")
    if c.labels:
        hit = [label for label in c.labels if label in f.labels]
        if not hit:
            return None
        held.append("label " + ", ".join(hit))
    for name, test in (c.scores or {}).items():
        value = (s.scores or {}).get(name)
        if value is None or not test.test(value):
            return None
        held.append(f"score {name} {value:+.4f} {test}")
    if c.hash_list:
        hit = [name for name in c.hash_list if name in f.hash_hits]
        if not hit:
            return None
        held.append("hash list " + ", ".join(f"{n} ({f.hash_hits[n]})" for n in hit))
    if c.community and not _community_holds(c.community, s, held):
        return None
    if c.author and not _author_holds(c.author, s, f.now, held):
        return None
    if c.scope and c.scope != "all":
        local = s.item_local if s.item_local is not None else s.author_local
        if local is None or local != (c.scope == "local"):
            return None
        held.append(f"scope {c.scope}")
    return tuple(held)


def _community_holds(c: Any, s: Subject, held: list[str]) -> bool:
    if c.name is not None:
        keys = _community_keys(s.community_name, s.community_local)
        if not any(_normal(n, "!") in keys for n in c.name):
            return False
        held.append(f"community {s.community_name}")
    if c.nsfw is not None:
        if s.community_nsfw is None or s.community_nsfw != c.nsfw:
            return False
        held.append(f"community nsfw: {str(c.nsfw).lower()}")
    if c.local is not None:
        if s.community_local is None or s.community_local != c.local:
            return False
        held.append("community local" if c.local else "community remote")
    return True


def _author_holds(c: Any, s: Subject, now: datetime, held: list[str]) -> bool:
    for want, have, yes, no in (
        (c.local, s.author_local, "author local", "author remote"),
        (c.bot_account, s.author_bot, "author is a bot account", "author is not a bot"),
        (
            c.moderator,
            s.author_is_moderator,
            "author moderates the community",
            "author is not a moderator",
        ),
    ):
        if want is None:
            continue
        if have is None or bool(have) != want:
            return False
        held.append(yes if want else no)
    if c.account_age is not None:
        published = _as_datetime(s.author_published)
        if published is None:
            return False
        age = now - published
        if not c.account_age.test(age):
            return False
        held.append(f"author account age {format_duration(age)} {c.account_age}")
    return True


def _as_datetime(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # Lemmy 0.19 timestamps are UTC
    return value


# --- a rule in words (`modbot check-rules --explain`) ------------------------------------------


def _any_of(values: Iterable[Any]) -> str:
    return " or ".join(str(v) for v in values)


# Whom a ban goes to, by the kind of item (docs/rules.md, `ban`)
_BANNED = {
    "post": "the author",
    "comment": "the author",
    "upload": "the uploader",
    "file": "the file's uploader (else who first posted it)",
    "avatar": "the person whose profile shows it",
    "banner": "the person whose profile shows it",
    "bio": "the person whose profile shows it",
}


def _banned(types: set[str] | None) -> str:
    """Whom a rule's ban goes to, in words, for the types it names (None: any)."""
    said = {_BANNED[t] for t in (types or _BANNED) if t in _BANNED}
    if not said:
        return "nobody (a community's or the site's image has no author)"
    if len(said) == 1:
        return said.pop()
    profile = "the person whose profile shows it"
    return "whoever posted or uploaded it" + (
        " (or whose profile shows it)" if profile in said else ""
    )


# What Lemmy takes with a ban's remove_data, by scope (docs/rules.md, "What a ban's
# remove_data: true takes with it"): a site ban's takes far more than "their content"
# says, whole communities and image files included, and an admin reads it here first.
_REMOVED_DATA = {
    "site": (
        ", and Lemmy removes their posts and comments, every community they are the first "
        "moderator of (with everyone's posts in it) and their uploads (Lemmy 0.19.10 and "
        "earlier: purges the files of their avatar, banner and image posts instead, even "
        "where others show them)"
    ),
    "community": ", and Lemmy removes their posts and comments in that community",
}


def describe_rule(policy: Policy, rule: Rule) -> str:
    """When `rule` acts and what it does, in words: `if label csam, then remove ...`."""
    c, held = rule.if_, []
    if c.type and "any" not in c.type:
        held.append(f"type {_any_of(c.type)}")
    elif c.type:
        held.append("any item")
    if c.found_in:
        held.append(f"found in {_any_of(c.found_in)}")
    if c.labels:
        held.append(f"label {_any_of(c.labels)}")
    for name, test in (c.scores or {}).items():
        held.append(f"score {name} {test}")
    if c.unreadable is not None:
        held.append("the image is unreadable" if c.unreadable else "the image is readable")
    for key, what in (("skipped", "not checked"), ("fetch_failed", "not downloaded")):
        reasons = getattr(c, key)
        if reasons is not None:
            held.append(what + ("" if reasons is True else f" ({_any_of(reasons)})"))
    if c.hash_list:
        held.append(f"on hash list {_any_of(c.hash_list)}")
    if c.community:
        if c.community.name:
            held.append(f"community {_any_of(c.community.name)}")
        if c.community.nsfw is not None:
            held.append(f"community {'' if c.community.nsfw else 'not '}marked NSFW")
        if c.community.local is not None:
            held.append(f"community {'local' if c.community.local else 'remote'}")
    if c.author:
        a = c.author
        for want, yes, no in (
            (a.local, "author local", "author remote"),
            (a.bot_account, "author a bot account", "author not a bot account"),
            (a.moderator, "author a moderator", "author not a moderator"),
        ):
            if want is not None:
                held.append(yes if want else no)
        if a.account_age is not None:
            held.append(f"account age {a.account_age}")
    if c.scope and c.scope != "all":
        held.append(f"scope {c.scope}")
    t, does = rule.then, []
    if t.reject:
        does.append("refuse the upload")
    if t.report:
        does.append(f"report ({t.report!r})")
    if t.remove:
        does.append(f"remove the item ({t.remove!r})")
    if t.purge_image:
        does.append("purge the image from pict-rs")
    if t.purge_item:
        does.append("purge the item")
    if t.delete_image:
        does.append("delete this alias of the image")
    if t.ban:
        b = t.ban
        length = "permanently" if b.duration is None else f"for {format_duration(b.duration)}"
        who = _banned(set(c.type) if c.type and "any" not in c.type else None)
        ban = f"ban {who} {'site-wide' if b.scope == 'site' else 'from the community'}"
        ban += f" {length}" + (_REMOVED_DATA[b.scope] if b.remove_data else "")
        does.append(ban + (", and the image's uploader" if b.uploader else ""))
    if t.notify_admins:
        does.append("notify the admins")
    text = f"if {' and '.join(held)}, then {', '.join(does)}"
    if "incoming" not in (c.type or ()):
        exempt = _moderators_exempt(policy, rule)
        text += "; moderators exempt" if exempt else "; moderators not exempt"
    return text


# --- names ------------------------------------------------------------------------------------


def _normal(entry: str, sigil: str) -> str:
    """`"@Someone@Lemmy.example"` -> `"someone@lemmy.example"`; URLs are kept, lowercased."""
    return entry.strip().removeprefix(sigil).lower()


# --- placeholders ----------------------------------------------------------------------------


def render(
    text: str, s: Subject, rule: str, f: _Facts | None = None, limit: int | None = None
) -> str:
    """Fill `{{author}}`, `{{scores.nsfw}}`, ... in a reason. Unknown values become "?".

    The text is Markdown sent to Lemmy (a reason, a private message): what the admin
    wrote stays as written, values that come from the content (author, community, image
    URL, the decoder's message) become inert code spans (`modbot.markdown.inert`).

    With a `limit` (Lemmy refuses a longer report or ban reason for good), those values are
    cut shorter, each still a whole code span, until the reason fits: the admin's own
    words are kept (`modbot check-rules` refuses a reason too long without its values).
    If even that does not fit, the values are left out."""
    out = _render(text, s, rule, f, MAX_VALUE)
    for cap in _SHORTER:
        if limit is None or lemmy_length(out) <= limit:
            return out
        out = _render(text, s, rule, f, cap)
    if limit is None or lemmy_length(out) <= limit:
        return out
    # Still too long (many values, or the hashes, which are never cut): the admin's words
    # alone, each value "…"; cut, they hold nothing from the content.
    kept, room = [], limit
    for char in PLACEHOLDER.sub("…", text):
        room -= lemmy_length(char)  # a character outside the BMP counts two
        if room < 0:
            break
        kept.append(char)
    return "".join(kept)


_SHORTER = (120, 48, 16)  # characters of each value from the content, tried in turn


def _render(text: str, s: Subject, rule: str, f: _Facts | None, cap: int) -> str:
    hits = f.hash_hits if f else {}
    author = next(
        (k for k in _user_keys(s.author_actor_id, False) if "@" in k and "/" not in k),
        s.author_actor_id,
    )
    # The link to a post or comment is modbot's own (instance URL + id), meant to be
    # clicked; an upload's "permalink" is the image itself: never a live link.
    own_link = s.item_kind in ("post", "comment")
    hashes = {**s.known_hashes(), **(f.hashes if f else {})}
    values = {
        "author": _inert(author, cap),
        "permalink": s.permalink if own_link else _inert(s.permalink, cap),
        "community": _inert(s.community_name, cap),
        "rule": rule,
        "labels": ", ".join(sorted(s.labels or ())) or "none",
        "sha256": s.sha256,
        "image_url": _inert(s.image_url, cap),
        "found_in": s.found_in,
        "type": s.item_kind,
        "hash_list": ", ".join(hits) or "none",
        "unreadable": _inert(s.unreadable, cap) if isinstance(s.unreadable, str) else None,
        # the image's hash of each kind (`{{phash}}`...), as computed for the lists
        **{kind: hashes.get(kind) for kind in HASH_KINDS if kind != "sha256"},
        "skipped": s.skipped,
        "fetch_failed": _fetch_failed(s, cap),
    }

    def one(m: re.Match) -> str:
        name = m.group(1)
        if name.startswith("scores."):
            value = (s.scores or {}).get(name[len("scores.") :])
            # 4 decimals, as the margin has: with 3, a label that fired by 0.0001 read +0.000
            return "?" if value is None else f"{value:+.4f}"
        text = values.get(name)
        return "?" if text is None else str(text)

    return PLACEHOLDER.sub(one, text)


def _fetch_failed(s: Subject, cap: int = MAX_VALUE) -> str | None:
    """Why the download failed, in words then its code (the words name what the server
    sent, its Content-Type: inert), and whether the instance's copy was checked."""
    if not s.fetch_failed:
        return None
    text = (
        f"{_inert(s.fetch_failed_detail, cap)} ({s.fetch_failed})"
        if s.fetch_failed_detail
        else s.fetch_failed
    )
    if s.checked_copy:
        text += "; modbot checked the instance's copy of it instead"
    return text


def _inert(value: str | None, cap: int = MAX_VALUE) -> str | None:
    if value is None:
        return None
    return inert(cut(value, cap))
