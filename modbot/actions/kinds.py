"""The action table: every kind of action a rule can take, what it is, and how a rule
asks for it.

The schema reads it (which `then:` keys make a removal rule), the rules (the order one
rule's actions are planned in, which are told once per item), the executor (a handler
per kind), the safety valve and the reports (which are destructive). A new kind of
action is a row here, its `then:` key in ``modbot.config.schema.Actions`` (named as the
kind), its handler in ``modbot.actions.handlers`` (``@handles``), and the Lemmy call it
makes in ``modbot.lemmy`` (``LemmyApi`` and each API version's client).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from modbot.model import PROFILE_KINDS

__all__ = [
    "ACTIONS",
    "BAN_REASON_MAX",
    "DESTRUCTIVE",
    "MODERATORS_EXEMPT",
    "REPORT_MAX",
    "ActionKind",
    "takes_item_down",
]

#: The longest report reason Lemmy takes (0.19 and 1.0: `check_report_reason`).
REPORT_MAX = 1000
#: The longest ban reason (site or community): `is_valid_body_field`, `invalid_body_field`.
BAN_REASON_MAX = 10_000

Ask = tuple[str | None, dict[str, Any]]  # (reason as the rule wrote it, parameters)

#: A planned action's parameter ``modbot.rules`` adds where the rule exempts moderators
#: and the action reaches people besides the decided item's author (a stored file's
#: removal goes to every post showing it): the handler spares a moderator in the
#: community they moderate there, as the rule spares such an author.
MODERATORS_EXEMPT = "moderators_exempt"


def _never(params: Mapping[str, Any]) -> bool:
    return False


def _always(params: Mapping[str, Any]) -> bool:
    return True


def _no_item(params: Mapping[str, Any], item_kind: str) -> bool:
    return False


# A community's or the site's image (and an image in their texts) has no author to ban.
_AUTHORLESS = (
    "community_icon",
    "community_banner",
    "community_description",
    "site_icon",
    "site_banner",
    "site_sidebar",
)


def _item_removed(params: Mapping[str, Any], item_kind: str) -> bool:
    # `remove` and `purge_item` do nothing to an upload or a profile image; to a stored
    # file they take down the posts showing it, which its report goes to
    return item_kind not in ("upload", *PROFILE_KINDS)


def _file_gone(params: Mapping[str, Any], item_kind: str) -> bool:
    # a post or comment stays up (showing a broken image); an upload, a stored file or a
    # profile image is its image
    return item_kind not in ("post", "comment")


def _data_removed(params: Mapping[str, Any], item_kind: str) -> bool:
    if not params.get("remove_data") or item_kind in _AUTHORLESS:
        return False
    # a community ban removes the person's posts and comments in that community only: an
    # upload or a profile image is in no community (the handler skips such a ban)
    return item_kind in ("post", "comment") or params.get("scope") != "community"


@dataclass(frozen=True)
class ActionKind:
    """One kind of action. ``ask(then, community)``: the reason (with its placeholders)
    and the parameters when the rule's ``then`` asks for this kind; the rule's ``then``
    has a key of the kind's name, and its action is asked for when that key is set."""

    name: str
    ask: Callable[[Any, str | None], Ask]
    removal: bool = False  # among the matching removal rules, the first wins
    destructive: bool = False  # counted by the safety valve; first in reports
    takes_down: Callable[[Mapping[str, Any]], bool] = _never  # the item or its image goes
    # ``(params, item_kind)``: the item itself goes, so a report on it would only make
    # the moderators review a removed item (Lemmy takes none on a removed post or comment)
    downs_item: Callable[[Mapping[str, Any], str], bool] = _no_item
    once_per_item: bool = False  # one per item, however many rules and images ask
    needs_item_up: bool = False  # pointless once another rule removed the item
    # Lemmy refuses a longer reason for good (a report's: `report_too_long`, a ban's:
    # `invalid_body_field`): the values the placeholders fill in are cut shorter until
    # the reason fits (modbot.rules.render), measured as Lemmy does (lemmy_length)
    max_reason: int | None = None

    def asked(self, then: Any) -> bool:
        return bool(getattr(then, self.name, None))


def _reject(then: Any, community: str | None) -> Ask:
    return None, {}


def _remove(then: Any, community: str | None) -> Ask:
    return then.remove, {}


def _purge(then: Any, community: str | None) -> Ask:
    return then.remove or "{{rule}}", {}


def _ban(then: Any, community: str | None) -> Ask:
    ban = then.ban
    duration = ban.duration
    return ban.reason, {
        "scope": ban.scope,
        "duration_seconds": None if duration is None else int(duration.total_seconds()),
        "remove_data": ban.remove_data,
        "community": community,
        **({"uploader": True} if ban.uploader else {}),  # also who uploaded the image
    }


def _report(then: Any, community: str | None) -> Ask:
    return then.report, {}


def _notify(then: Any, community: str | None) -> Ask:
    return then.notify_admins, {}


#: Every kind, in the order one rule's actions are planned: a report first (Lemmy takes
#: no report on a removed post or comment, and marks those it had resolved when it goes),
#: then remove, purge the image before the item (purging a post also purges its image),
#: ban after, then tell the admins.
#: ``reject`` is the upload gate's (``modbot.modes.gate``): only `type: incoming` rules ask it.
ACTIONS: dict[str, ActionKind] = {
    kind.name: kind
    for kind in (
        # the upload gate refuses the file (pict-rs does not store it); nothing on Lemmy
        ActionKind(
            "reject",
            _reject,
            removal=True,
            takes_down=_always,
            downs_item=lambda params, item_kind: True,
        ),
        ActionKind(
            "report", _report, once_per_item=True, needs_item_up=True, max_reason=REPORT_MAX
        ),
        ActionKind(
            "remove",
            _remove,
            removal=True,
            destructive=True,
            takes_down=_always,
            downs_item=_item_removed,
        ),
        ActionKind(
            "purge_image",
            _purge,
            removal=True,
            destructive=True,
            takes_down=_always,
            downs_item=_file_gone,
        ),
        ActionKind(
            "purge_item",
            _purge,
            removal=True,
            destructive=True,
            takes_down=_always,
            downs_item=_item_removed,
        ),
        # one alias of the file only (pict-rs /internal/delete): for images merely unwanted
        ActionKind(
            "delete_image",
            _purge,
            removal=True,
            destructive=True,
            takes_down=_always,
            downs_item=_file_gone,
        ),
        ActionKind(
            "ban",
            _ban,
            max_reason=BAN_REASON_MAX,
            removal=True,
            destructive=True,
            takes_down=lambda params: bool(params.get("remove_data")),
            downs_item=_data_removed,
        ),
        ActionKind("notify_admins", _notify, once_per_item=True),
    )
}


def takes_item_down(kind: str, params: Mapping[str, Any], item_kind: str) -> bool:
    """Whether an action of ``kind`` (with ``params``) takes an item of ``item_kind``
    itself down: a report on it then only makes the moderators review a removed item, and
    Lemmy takes none on a removed post or comment. A post or comment goes when removed or
    purged, or by a ban that removes the author's content; purging or deleting its image
    leaves it up, as does a ban alone. An upload, a stored file or a profile image is its
    image: purging or deleting it takes it down. An unknown kind takes nothing down."""
    action = ACTIONS.get(kind)
    return action is not None and action.downs_item(params, item_kind)


#: The kinds the safety valve counts: they remove content or people.
DESTRUCTIVE: tuple[str, ...] = tuple(name for name, kind in ACTIONS.items() if kind.destructive)
