"""Checking a Lemmy view against the table of what modbot reads of it, shared by every API
version's views module (``views_v3``, ``views_v4``): the field types, the problem's
wording, and the malformed ``Item`` a view that fails becomes."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from modbot.errors import LemmyBadAnswer
from modbot.lemmy.transport import kind_of
from modbot.model import Community, Item, ItemKind, parse_time, post_version

__all__ = [
    "OPTIONAL",
    "OWN",
    "REQUIRED",
    "TYPES",
    "Field",
    "admin_ids",
    "community_record",
    "fields_problem",
    "item_version",
    "listed_communities",
    "malformed",
    "malformed_answer",
    "person_shown",
    "read_person_view",
    "read_view",
    "shown",
    "thumbnail_key",
]

log = logging.getLogger("modbot.lemmy.views")

# Required: what identifies the item and whom an action hits; without it, or with any
# field of the wrong type, the item is malformed. Every other field may be missing or null.
REQUIRED, OPTIONAL = True, False
Field = tuple[str, str, bool]  # (dotted path, type name in TYPES, required)
OWN: dict[str, str] = {"post": "post", "comment": "comment", "upload": "local_image"}

_ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")  # pict-rs: <uuid>.<ext>
TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "object": ("an object", lambda v: isinstance(v, dict)),
    "id": ("a positive integer", lambda v: type(v) is int and v > 0),
    "count": ("a count", lambda v: type(v) is int and v >= 0),
    "text": ("a string", lambda v: isinstance(v, str)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "time": ("a timestamp", lambda v: isinstance(v, str) and parse_time(v) is not None),
    "alias": (
        "a pict-rs alias",
        lambda v: isinstance(v, str) and bool(_ALIAS.fullmatch(v)) and ".." not in v,
    ),
}


def read_view(answer: Any, key: str, what: str) -> dict[str, Any]:
    """``answer[key]``, a view read by id to check an action (after a crash, by undo):
    there is no item to decide, so a missing view is a ``LemmyBadAnswer``."""
    view = answer.get(key) if isinstance(answer, dict) else None
    if not isinstance(view, dict):
        raise LemmyBadAnswer(
            f"{what}: Lemmy's answer has no {key} (got {kind_of(view)})", error="bad_answer"
        )
    return view


@contextmanager
def malformed_answer(what: str) -> Iterator[None]:
    """Read an answer that is not checked field by field (``/site``, ``/account``): a
    shape Lemmy never sends (a null where an object is, a missing key) is a
    ``LemmyBadAnswer`` saying so, never a ``TypeError`` traceback."""
    try:
        yield
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise LemmyBadAnswer(
            f"{what}: Lemmy's answer is malformed ({type(exc).__name__}: {exc}); is "
            "LEMMY_URL the Lemmy API, not a proxy or another site?",
            error="bad_answer",
        ) from None


def admin_ids(site: dict[str, Any]) -> frozenset[int]:
    """The admins' person ids of a ``GetSiteResponse``: its top-level ``admins``,
    ``PersonView``s (``{person, is_admin, banned, ...}``), in 0.19 and 1.0 alike.
    Lemmy always sends the list: one missing (a proxy's or cache's JSON) is a
    ``LemmyBadAnswer``, not a site without admins (every admin then open to an action)."""
    admins = site.get("admins")
    if not isinstance(admins, list):
        raise LemmyBadAnswer(
            f"/site: Lemmy's answer has no admins list (got {kind_of(admins)}); is "
            "LEMMY_URL the Lemmy API, not a proxy or another site?",
            error="bad_answer",
        )
    with malformed_answer("/site"):
        return frozenset(a["person"]["id"] for a in admins)


def read_person_view(answer: Any, person_id: int) -> dict[str, Any]:
    """A ``PersonView`` read by id (to check a ban): its person and the person's id must
    be there, else a ``LemmyBadAnswer``."""
    view: Any = answer.get("person_view") if isinstance(answer, dict) else None
    person = view.get("person") if isinstance(view, dict) else None
    if not isinstance(person, dict) or not isinstance(person.get("id"), int):
        raise LemmyBadAnswer(
            f"person/{person_id}: Lemmy's answer has no person_view with a person and its id",
            error="bad_answer",
        )
    return view


def shown(value: Any) -> str:
    """A value in a problem's description: its kind, and a scalar's first characters."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def fields_problem(kind: str, fields: tuple[Field, ...], view: Any) -> str | None:
    """What is wrong with a view of ``kind`` by its ``fields``, or None."""
    if not isinstance(view, dict):
        return f"the {kind} is {shown(view)}, not an object"
    for path, names, required, words, check in _compiled(fields):
        value: Any = view
        for name in names:
            value = value.get(name) if isinstance(value, dict) else None
        if value is None:
            if required:
                return f"`{path}` is missing"
            continue
        if not check(value):
            return f"`{path}` is {shown(value)}, not {words}"
    return None


@lru_cache(maxsize=64)  # a few tables, each checked on every item of every page
def _compiled(
    fields: tuple[Field, ...],
) -> tuple[tuple[str, tuple[str, ...], bool, str, Callable[[Any], bool]], ...]:
    return tuple(
        (path, tuple(path.split(".")), required, *TYPES[type_name])
        for path, type_name, required in fields
    )


# what modbot reads of a community/list entry's community (same names in v3 and v4 but
# the actor id's, which is only shown)
COMMUNITY_FIELDS: tuple[Field, ...] = (
    ("id", "id", REQUIRED),
    ("name", "text", OPTIONAL),
    ("icon", "text", OPTIONAL),
    ("banner", "text", OPTIONAL),
    ("nsfw", "bool", OPTIONAL),
    ("local", "bool", OPTIONAL),
)


def community_record(own: dict[str, Any], actor_id: str, description: str) -> Community:
    """A ``Community`` object (in an item's view or a listing's entry); ``actor_id`` and
    ``description``: the names of its actor id's and its Markdown text's fields
    (``actor_id``/``description`` in 0.19, ``ap_id``/``sidebar`` in 1.0). The text is not
    checked field by field: a string, else absent (its images are items of their own)."""
    text = own.get(description)
    return Community(
        id=own["id"],
        name=own.get("name"),
        actor_id=own.get(actor_id),
        nsfw=own.get("nsfw"),
        local=own.get("local"),
        icon=own.get("icon"),
        banner=own.get("banner"),
        description=text if isinstance(text, str) and text else None,
    )


def listed_communities(views: list[Any], actor_id: str, description: str) -> list[Community]:
    """The communities of a ``community/list`` page (``CommunityView`` entries). One Lemmy
    sent malformed (no community object, no integer id, an image that is not a URL) has
    no decision of its own to record: it is left out, with a warning."""
    found = []
    for view in views:
        own = view.get("community") if isinstance(view, dict) else None
        if isinstance(own, dict) and not fields_problem("community", COMMUNITY_FIELDS, own):
            found.append(community_record(own, actor_id, description))
    if len(found) < len(views):
        log.warning("community/list: %d malformed entries left out", len(views) - len(found))
    return found


def malformed(
    kind: ItemKind | str, view: Any, problem: str, *, published: str = "published"
) -> Item:
    """The ``Item`` of a view that failed its check: its id where it has a valid one (else
    one made from the view's digest), its time (the field ``published`` names), the problem."""
    digest = hashlib.sha256(json.dumps(view, sort_keys=True, default=repr).encode()).hexdigest()[
        :16
    ]
    own = view.get(OWN[kind]) if isinstance(view, dict) else None
    own = own if isinstance(own, dict) else {}
    field_name, type_name = ("pictrs_alias", "alias") if kind == "upload" else ("id", "id")
    found = own.get(field_name)
    item_id = found if found is not None and TYPES[type_name][1](found) else f"malformed-{digest}"
    stamp = own.get(published)
    moment = parse_time(stamp) if isinstance(stamp, str) else None
    checked: ItemKind = "upload" if kind == "upload" else "post" if kind == "post" else "comment"
    return Item(checked, item_id, moment, f"malformed:{digest}", problem=problem)


def person_shown(person: dict[str, Any], actor_key: str) -> str | None:
    """A person's name as an admin writes it: ``name``, ``name@instance`` when remote
    (``actor_key``: where the view keeps the person's URL, 0.19's ``actor_id``, 1.0's
    ``ap_id``)."""
    name = person.get("name")
    if not isinstance(name, str):
        return None
    actor = person.get(actor_key)
    if person.get("local") is False and isinstance(actor, str) and "//" in actor:
        return f"{name}@{actor.split('//', 1)[1].split('/', 1)[0]}"
    return name


# A thumbnail's URL forms (0.19, 1.0): the same image under each is one thumbnail.
_PROXY_PATHS = ("/api/v3/image_proxy", "/api/v4/image/proxy")
_PICTRS_PATHS = ("/pictrs/image/", "/api/v4/image/")


def item_version(kind: str, stamp: str, thumbnail: str | None) -> str:
    """What the item's "seen" mark compares: a post's thumbnail with its time (Lemmy sets
    it after the post, ``updated`` untouched: ``post_version``), by what it points at."""
    if kind != "post":
        return stamp
    return post_version(stamp, thumbnail_key(thumbnail) if thumbnail else None)


def thumbnail_key(url: str) -> str:
    """What a post's thumbnail URL points at, for its seen mark: a pict-rs file by its host
    and alias (0.19's ``/pictrs/image/``, 1.0's ``/api/v4/image/``, any query), a remote
    image behind an image proxy (0.19's, 1.0's, any ``max_size``) by its original, else the
    URL as sent (what marks held before, a61ad26). Lemmy writes one thumbnail in several
    forms (``image_mode``, a release): a new form is no new thumbnail, a new file is."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url
    path = unquote(parts.path)
    if path.rstrip("/") in _PROXY_PATHS:
        original = parse_qs(parts.query).get("url")
        return original[0] if original else url
    for prefix in _PICTRS_PATHS:
        alias = path[len(prefix) :] if path.startswith(prefix) else ""
        if alias and "/" not in alias:
            return f"pictrs:{parts.netloc.lower()}/{alias}"
    return url
