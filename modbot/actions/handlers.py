"""The handler of each kind of the action table: what carrying it out means on Lemmy,
how its key is made (what "the same action again" is), and how to ask Lemmy whether it
took effect after a crash while sending it. ``@handles(kind)`` registers one; every
kind of ``modbot.actions.kinds.ACTIONS`` has one (the executor checks at import).

No action becomes a more destructive one: ``purge_image`` purges the image file from
pict-rs (or deletes an upload with its own delete token) and nothing else; when it
cannot (no pict-rs access, a remote image) it is recorded ``not_possible`` with why,
the rule's other actions go on, and the admins are told once per cause.

One handler per action kind, each short; they sit together because they share the
executor's claim/record steps and the wording of the admins' notices.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from modbot.actions.kinds import MODERATORS_EXEMPT
from modbot.errors import LemmyError, LemmyLoginError, LemmyUnavailable
from modbot.lemmy.api import PAGE
from modbot.markdown import inert
from modbot.model import PROFILE_KINDS, ActionOutcome, Item, PlannedAction, SiteInfo, Target
from modbot.store import SENDING

if TYPE_CHECKING:
    from modbot.actions.executor import Executor

__all__ = ["COVERED", "DONE", "HANDLERS", "NOT_POSSIBLE", "handles"]

log = logging.getLogger(__name__)

# an unban claimed this recently is one a running `modbot undo` is sending (a few
# seconds each); older, one a killed undo left
UNDO_IN_FLIGHT_S = 300.0

Handler = Callable[["Executor", Target, PlannedAction], ActionOutcome]
HANDLERS: dict[str, Handler] = {}  # action kind -> its handler


def handles(kind: str) -> Callable[[Handler], Handler]:
    """Register the handler that carries out ``kind`` of the action table."""

    def register(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler

    return register


# An action the rule asked for that modbot cannot carry out here (purge_image of a remote
# image, or without pict-rs access). Not sent, so not counted by the safety valve.
NOT_POSSIBLE = "not_possible"
NOT_POSSIBLE_DETAIL = {
    "needs_pictrs": "needs pict-rs access: set PICTRS_URL and PICTRS_API_KEY; the image "
    "stays in pict-rs (the post is never purged instead)",
    "remote": "remote image: it is not stored in this instance's pict-rs, so there is "
    "nothing to purge here (the post is never purged instead)",
}
NOT_PURGED = {"needs_pictrs": "modbot has no pict-rs access", "remote": "it is a remote image"}
# An action's state in the store that means "not again": done, or done by another action
# (covered: not counted by the safety valve).
COVERED = "covered"
DONE = ("done", COVERED)


class FoundGone:
    """What a ``send`` returns when there was nothing left to act on: pict-rs had no such
    alias or cached copy (404: gone before, by a ban's ``remove_data``, its uploader,
    another purge), or Lemmy shows the post or comment removed already (``theirs``: by
    someone else, or by a ban's ``remove_data``). ``Executor.once`` records it covered,
    with ``detail``: nothing sent did it, so not counted by the safety valve, nor said
    to have purged anything. ``theirs``: the decision says it skipped, not done, as the
    bot did not do it (``modbot undo`` restores only what the bot removed)."""

    def __init__(self, detail: str, *, theirs: bool = False) -> None:
        self.detail = detail
        self.theirs = theirs


def _gone_already(what: str, verb: str = "purged") -> FoundGone:
    return FoundGone(
        f"nothing {verb}: pict-rs had no {what} any more (gone before: a ban's remove_data, "
        "its uploader's delete, another purge); not counted by the safety valve"
    )


def _where(t: Target) -> str:
    """The item for a message: the link to a post or comment (modbot's own, built from
    the instance URL and the id); an upload's URL is the image itself: inert."""
    if t.kind in ("post", "comment") and t.url:
        return t.url
    return inert(t.url or t.image_url)


_WHAT = {
    "upload": "an upload",
    "file": "a stored file",
    "avatar": "an avatar",
    "banner": "a banner",
    "community_icon": "a community icon",
    "community_banner": "a community banner",
    "site_icon": "the site icon",
    "site_banner": "the site banner",
    "bio": "an image in a bio",
    "community_description": "an image in a community description",
    "site_sidebar": "an image in the site sidebar",
}


# A person's own images: a report names whose they are.
_PERSONS = ("avatar", "banner", "bio")


def _what(t: Target) -> str:
    """``an avatar``: the kind of a target that is no post or comment, in words."""
    return _WHAT.get(t.kind, f"a {t.kind}")


def _on_showing(ex: Executor, t: Target, planned: PlannedAction, handler: Handler) -> ActionOutcome:
    """A stored file (``modbot sweep --store``) is no post: the action goes to each post
    and comment the bot saw showing it (``Target.shown_by``), each under its own key, so
    it is never repeated; one outcome says what happened to each."""
    name = planned.kind
    if not t.shown_by:
        return ActionOutcome(name, "skipped", "no post or comment modbot has seen shows this file")
    outcomes = []
    for kind, item_id, author_id in t.shown_by:
        if author_id is not None and author_id in ex.admin_ids:
            outcomes.append(
                ActionOutcome(name, "skipped", f"{kind} {item_id}: by an admin, never acted on")
            )
            continue
        shown = replace(t, kind=kind, id=int(item_id), url="", author_id=author_id, shown_by=())
        # the rule spares a moderator in their community: this item, as when it decides it
        moderators = bool((planned.params or {}).get(MODERATORS_EXEMPT))
        spared = _shown_item_now(ex, name, shown, moderators=moderators)
        outcomes.append(spared or handler(ex, shown, planned))
    return _combined(name, outcomes)


def _shown_item_now(
    ex: Executor, name: str, shown: Target, *, moderators: bool
) -> ActionOutcome | None:
    """A post or comment showing a stored file, read live before ``name`` acts on it (the
    bot saw it maybe days before): a removal is skipped when someone removed it since (a
    second removal writes a modlog line in the bot's name, after which ``modbot undo``
    would restore what a moderator removed), and, where the rule exempts ``moderators``,
    ``name`` when a moderator of its community wrote it (a moderator added or removed
    since counts). Failed, tried again next cycle, when it cannot be read. None: act on
    it (also when it is gone, or the bot tried or planned the removal: ``once`` says)."""
    # (any state of the bot's own removal, a killed run's claim or a failed attempt too,
    # is settled by ``once``: it may be the bot's removal that Lemmy shows)
    removal = (
        name == "remove"
        and ex.store.action("remove", shown.key) is None
        and not ex.planned_already("remove", shown.key)
    )
    if not removal and not moderators:
        return None
    what = f"{shown.kind} {shown.id}"
    try:
        item = _read_item(ex, shown)
    except LemmyError as exc:
        read = "whether it is removed already" if removal else "whether its author moderates"
        why = f"could not read {read}: {exc}"
        return ActionOutcome(name, "failed", f"{what}: {why}; tried again next cycle", retry=True)
    if item is None:
        return None
    if removal and item.removed:
        why = (
            "removed already, not by the bot (a moderator or admin): not removed again, "
            "so the removal stays theirs (`modbot undo` leaves it)"
        )
        return ActionOutcome(name, "skipped", f"{what}: {why}")
    if not moderators or not item.author_is_moderator:
        return None
    why = "the author moderates its community (the rule exempts moderators)"
    return ActionOutcome(name, "skipped", f"{what}: {why}")


def _moderators_item(ex: Executor, name: str, shown: Target) -> ActionOutcome | None:
    """``name`` skipped when a moderator of its community wrote the post or comment
    ``shown`` (``_shown_item_now``)."""
    return _shown_item_now(ex, name, shown, moderators=True)


def _combined(name: str, outcomes: list[ActionOutcome]) -> ActionOutcome:
    """One outcome for an action carried out on several targets: failed if one failed,
    else done if one was done...; the detail says what happened to each."""
    statuses = [o.status for o in outcomes]
    status = next(
        (s for s in ("failed", "done", "planned", "skipped") if s in statuses), statuses[0]
    )
    times = [o.done_at for o in outcomes if o.done_at is not None]
    return ActionOutcome(
        name,
        status,
        "; ".join(o.detail for o in outcomes)[:1000],
        retry=any(o.retry for o in outcomes),
        valve=any(o.valve for o in outcomes),
        done_at=max(times) if times else None,
    )


@handles("remove")
def remove(ex: Executor, t: Target, planned: PlannedAction) -> ActionOutcome:
    reason = planned.reason or ""
    if t.kind == "file":
        return _on_showing(ex, t, planned, remove)
    if t.kind in ("post", "comment"):

        def send() -> None:
            if t.kind == "post":
                ex.client.remove_post(int(t.id), reason)
            else:
                ex.client.remove_comment(int(t.id), reason)

        # Never tried by the bot (no claim, no attempt): a removal Lemmy shows is not the
        # bot's. One it tried is settled by ``once`` (it may be the bot's own).
        fresh = ex.store.action("remove", t.key) is None
        return ex.once(
            "remove",
            t.key,
            f"remove {t.kind} {t.id}",
            (lambda: _unless_removed(ex, t, send)) if fresh else send,
            verify=lambda row: _item_removed(ex, t),
            refused=lambda: _not_removable(ex, t),
        )
    return ActionOutcome(
        "remove", "skipped", f"{_what(t)} is no post or comment to remove (use purge_image)"
    )


@handles("purge_item")
def purge_item(ex: Executor, t: Target, planned: PlannedAction) -> ActionOutcome:
    reason = planned.reason or ""
    if t.kind == "file":
        return _on_showing(ex, t, planned, purge_item)
    if t.kind == "post":
        spared = _post_files_spared(ex, t)
        if spared is not None:
            return spared
        comments = _admins_comments(ex, t)
        if isinstance(comments, ActionOutcome):
            return comments
        # the record says what goes with the post (nothing an admin wrote)
        taken = "" if not comments else f" with its {_comments(comments)} (Lemmy purges them too)"
        return ex.once(
            "purge_item",
            t.key,
            f"purge post {t.id}{taken}",
            lambda: ex.client.purge_post(int(t.id), reason),
            verify=lambda row: _read_item(ex, t) is None,
        )
    if t.kind == "comment":
        return ex.once(
            "purge_item",
            t.key,
            f"purge comment {t.id}",
            lambda: ex.client.purge_comment(int(t.id), reason),
            verify=lambda row: _read_item(ex, t) is None,
        )
    return ActionOutcome("purge_item", "skipped", f"{_what(t)} is no post or comment to purge")


# a post's comments read before its purge, at most (Lemmy lists 50 a page)
MAX_COMMENT_PAGES = 20


def _admins_comments(ex: Executor, t: Target) -> ActionOutcome | int | None:
    """Lemmy (0.19 and 1.0) purges a post's comments with the post: skipped when one of
    them is an admin's (never acted on), or when more comments are there than modbot
    can read to tell (``MAX_COMMENT_PAGES``, or the last page Lemmy serves); failed,
    tried again next cycle, when they cannot be read. Else how many go with it (None:
    not read, the purge being done or planned already: ``once`` says so)."""
    row = ex.store.action("purge_item", t.key)
    if (row and row["status"] in DONE) or ex.planned_already("purge_item", t.key):
        return None
    read = 0
    for page in range(1, MAX_COMMENT_PAGES + 1):
        try:
            listed = ex.client.comments(page, post_id=int(t.id))
        except LemmyError as exc:
            why = (
                f"could not read the post's comments before purging it ({exc}): Lemmy "
                "purges them with it, and an admin's must not go; tried again next cycle"
            )
            return ActionOutcome("purge_item", "failed", why[:500], retry=True)
        for comment in listed.items:
            author = comment.author
            if comment.author_is_admin or (author is not None and author.id in ex.admin_ids):
                whose = "is an admin's: never acted on"
            elif author is None:  # Lemmy sent it malformed: it could be an admin's
                whose = "could not be read (whose it is, an admin's, say, unknown)"
            else:
                continue
            return ActionOutcome(
                "purge_item",
                "skipped",
                f"purging post {t.id} purges its comments too (Lemmy does), and comment "
                f"{comment.id} {whose}",
            )
        read += len(listed.items)
        if not listed.next and listed.sent < PAGE:
            return read
        if not listed.next:
            break  # a full page, the last this Lemmy serves (0.19.14's page limit)
    return ActionOutcome(
        "purge_item",
        "skipped",
        f"purging post {t.id} purges its comments too (Lemmy does): it has more than "
        f"modbot can read ({page} pages) to tell that none is an admin's",
    )


def _comments(n: int) -> str:
    return "1 comment" if n == 1 else f"{n} comments"


def _upload_spared(t: Target) -> str:
    """Why an image whose uploader is exempt (``Target.uploader_exempt``: exempt.users)
    is not purged or deleted: the upload is their item, never acted on."""
    return f"the file is spared: it is the upload {t.image_alias} ({t.uploader_exempt})"


def _post_files_spared(ex: Executor, t: Target) -> ActionOutcome | None:
    """Lemmy (0.19 and 1.0) purges a post's link and thumbnail from pict-rs with the post
    (the last segment of each URL taken as the alias; the whole file, every alias of it):
    skipped when that file is an admin's upload or the site's image (as recorded, else as
    ``GET /site`` shows it now), or this item's image
    and an exempt item shows it (``Target.file_exempt``). None: purge it
    (also when it is done or planned already: ``once`` says so)."""
    row = ex.store.action("purge_item", t.key)
    if (row and row["status"] in DONE) or ex.planned_already("purge_item", t.key):
        return None
    try:
        post = _read_item(ex, t)
    except LemmyError as exc:
        why = f"could not read the post's images before purging it ({exc}): tried again next cycle"
        return ActionOutcome("purge_item", "failed", why[:500], retry=True)
    if post is None:
        return None
    for url in (post.link, post.thumbnail):
        alias = _alias_of(url)
        if not alias:
            continue
        same = [alias]
        if ex.pictrs_api:
            try:
                same += [a for a in ex.client.file_aliases(alias) if a != alias]
            except LemmyError as exc:
                log.warning("pict-rs could not list the aliases of %s: %s", alias, exc)
        if (t.file_exempt or t.uploader_exempt) and t.image_alias in same:
            # this item's image, which an exempt item shows (or an exempt uploader's):
            # purge_image spares it, and so must the purge of the post that takes it along
            why = f"the file is spared: {t.file_exempt}" if t.file_exempt else _upload_spared(t)
            return ActionOutcome(
                "purge_item",
                "skipped",
                f"purging post {t.id} purges its image {alias} from pict-rs too (Lemmy does, "
                f"the whole file): {why}",
            )
        sha256 = t.image_sha256 if t.image_alias == alias else None
        for other in same:
            exempt = ex.upload_exempt(other)
            if exempt:
                # another file of the post (its link or thumbnail, not the image decided)
                # is an exempt uploader's upload, which Lemmy would purge with the post
                return ActionOutcome(
                    "purge_item",
                    "skipped",
                    f"purging post {t.id} purges {alias} from pict-rs too (Lemmy does, the "
                    f"whole file): the file is spared: it is the upload {other} ({exempt})",
                )
            site = ex.store.site_shows(other, sha256)
            if site is None:
                # as recorded, else as the site shows it now: a post linking the site's
                # icon may be decided before the site's images are (``_site_shows``)
                try:
                    site = _site_image(ex.site_now(), other)
                except LemmyError as exc:
                    why = (
                        f"could not read the site's icon, banner and sidebar before purging "
                        f"post {t.id} ({exc}): not done, so that none of them is purged with "
                        "it; tried again next cycle"
                    )
                    return ActionOutcome("purge_item", "failed", why[:500], retry=True)
            if ex.store.image_owners(other, sha256) & ex.admin_ids:
                whose = "an admin's upload or in an admin's post"
            elif site is not None:
                whose = _WHAT[site]
            else:
                continue
            return ActionOutcome(
                "purge_item",
                "skipped",
                f"purging post {t.id} purges its image {alias} from pict-rs too (Lemmy does, "
                f"the whole file), which is {whose}: never acted on",
            )
    return None


# Only an admin sets the site's icon and banner and writes its sidebar, whoever
# uploaded the file.
SITE_IMAGES = ("site_icon", "site_banner", "site_sidebar")
ADMINS_IMAGE = "an admin's image: never acted on"


@handles("purge_image")
def purge_image(ex: Executor, t: Target, planned: PlannedAction) -> ActionOutcome:
    if t.kind in SITE_IMAGES:
        return ActionOutcome("purge_image", "skipped", ADMINS_IMAGE)
    # Someone else's item may show an admin's upload or the image of an admin's post
    # (or the same bytes: one file in pict-rs, a cached copy of a remote image too).
    local = t.image_alias or (t.image_original_url and t.image_sha256)
    if local and ex.store.image_owners(t.image_alias or "", t.image_sha256) & ex.admin_ids:
        return ActionOutcome(
            "purge_image",
            "skipped",
            "the image is an admin's upload or in an admin's post: never acted on",
        )
    if local:
        # the same file (one in pict-rs for identical bytes): purging it purges the site's
        site = _site_shows(ex, "purge_image", t.image_alias or "", t.image_sha256)
        if site is not None:
            return site
    if t.file_exempt:
        return ActionOutcome("purge_image", "skipped", f"the file is spared: {t.file_exempt}")
    if t.uploader_exempt and t.image_alias:  # the upload is the exempt uploader's item
        return ActionOutcome("purge_image", "skipped", _upload_spared(t))
    if t.image_alias and ex.purge_by_alias:
        alias = t.image_alias
        # (a stored file, `sweep --store`: the item is the whole file, every alias of it
        # looked up already, an admin's among them making it an admin's item)
        shared = None if t.kind == "file" else _other_uploads(ex, alias)
        if shared is not None and shared[0]:
            return ActionOutcome(
                "purge_image",
                "skipped",
                f"the same file is also the admin's upload {shared[0][0]} (pict-rs keeps "
                "one file for identical bytes): never acted on",
            )
        if shared is not None and shared[1]:
            # Purging the file would delete those uploads too, and one may be an admin's
            # that the bot has not listed yet: this alias only. No listing may ever show
            # the others (a deleted account's upload, one older than the media list): the
            # store sweep, which walks every file and reads the admins' first, decides it.
            unknown = shared[1]
            return ex.once(
                "purge_image",
                f"alias:{alias}",
                f"delete alias {alias} only: the same file has {len(unknown)} other "
                f"upload(s) whose uploader modbot does not know yet ({', '.join(unknown[:3])}"
                f"{', ...' if len(unknown) > 3 else ''}); the file stays in pict-rs until the "
                "store sweep decides it (schedule.store_sweep_cron, or `modbot sweep --store`)",
                lambda: ex.client.delete_alias(alias),
                verify=lambda row: ex.client.image_gone(alias),
            )

        def purge() -> FoundGone | None:
            purged = ex.client.purge_file(alias)
            if not purged:  # pict-rs names at least the alias itself when it purges
                return _gone_already(f"alias {alias}")
            # pict-rs purged the file, so every alias of it: purging those again
            # would be a repeat (and count against the safety valve).
            for other in purged:
                if other != alias:
                    ex.store.record_action(
                        "purge_image",
                        f"alias:{other}",
                        COVERED,
                        f"purged with alias {alias} (the same file)",
                        ex.run_id,
                        item=ex.current_item,
                    )
            return None

        return ex.once(
            "purge_image",
            f"alias:{alias}",
            f"purge pict-rs file of alias {alias} (every alias of it)",
            purge,
            verify=lambda row: ex.client.image_gone(alias),
        )
    if t.kind == "upload" and t.image_alias and t.delete_token:
        # What the uploader could do: delete this alias. pict-rs keeps the file while
        # another alias (the same bytes uploaded again) has it.
        alias, token = t.image_alias, t.delete_token
        return ex.once(
            "purge_image",
            f"alias:{alias}",
            f"delete upload {alias} with its delete token",
            lambda: ex.client.delete_image(alias, token),
            verify=lambda row: ex.client.image_gone(alias),
        )
    if not t.image_alias and t.image_original_url and ex.pictrs_api:
        # A remote image shown through Lemmy's image proxy: pict-rs keeps a copy under
        # the remote URL; purged by it (every alias of that copy). It comes back on the
        # next view unless the item goes too (the rule's remove).
        url = t.image_original_url
        # The copy is one file with any upload of the same bytes: purging it deletes
        # those too, so it is asked first as a purge by alias is (above). Its own alias
        # is pict-rs' and has no uploader: one more such alias could be an admin's.
        listed: list[str] = []

        def copies() -> list[str]:
            listed.extend(ex.client.proxied_aliases(url))
            return listed

        shared = _sharing_uploads(ex, f"proxy:{url}", copies)
        # An earlier attempt whose answer was lost (or a run killed while sending it) may
        # have purged the copy: no copy now is then its outcome, which once() verifies.
        tried = ex.store.action("purge_image", f"proxy:{url}")
        if (
            shared is not None
            and shared[1] != [_NOT_LISTED]
            and not listed
            and not (tried and tried["status"] in ("failed", SENDING))
        ):
            # nobody viewed it through the proxy (the bot reads the original): a purge
            # would purge nothing, and its record say it did, counted by the safety valve
            return ActionOutcome(
                "purge_image",
                "skipped",
                f"nothing to purge: pict-rs holds no copy of remote image {url}",
            )
        if shared is not None and shared[0]:
            return ActionOutcome(
                "purge_image",
                "skipped",
                f"the cached copy is one file with the admin's upload {shared[0][0]} "
                "(pict-rs keeps one file for identical bytes): never acted on",
            )
        if shared is not None and (len(shared[1]) > 1 or shared[1] == [_NOT_LISTED]):
            # Purging the file could delete an admin's upload of the same bytes: the
            # copy's own alias only, as for a purge by alias (above); the store sweep
            # decides the file.
            unknown = shared[1]
            whose = (
                "pict-rs could not list the aliases of its file"
                if unknown == [_NOT_LISTED]
                else f"its file has aliases whose uploader modbot does not know "
                f"({', '.join(unknown[:4])}{', ...' if len(unknown) > 4 else ''}; one is "
                "the copy's own)"
            )
            return ex.once(
                "purge_image",
                f"proxy:{url}",
                f"delete pict-rs' cached copy of remote image {url} only (proxy; its alias): "
                f"the copy is one file with every upload of the same bytes, and {whose}; "
                "the file stays in pict-rs until the store sweep decides it "
                "(schedule.store_sweep_cron, or `modbot sweep --store`)",
                lambda: (
                    None
                    if ex.client.delete_proxied(url)
                    else _gone_already(f"cached copy of {url}", "deleted")
                ),
                verify=lambda row: not ex.client.proxied_aliases(url),
            )

        def purge_cached() -> FoundGone | None:
            purged = ex.client.purge_proxied(url)
            if not purged:
                return _gone_already(f"cached copy of {url}")
            for other in purged:
                ex.store.record_action(
                    "purge_image",
                    f"alias:{other}",
                    COVERED,
                    f"purged with the cached copy of {url}",
                    ex.run_id,
                    item=ex.current_item,
                )
            return None

        return ex.once(
            "purge_image",
            f"proxy:{url}",
            f"purge pict-rs' cached copy of remote image {url} (proxy; every alias of it)",
            purge_cached,
            verify=lambda row: not ex.client.proxied_aliases(url),
        )
    # Nothing else purges an image: purging the post instead would delete the post and
    # its comments for good, more than the rule says (purge_item does that).
    cause = "needs_pictrs" if t.image_alias or t.image_original_url else "remote"
    _tell_not_possible(ex, cause, t)
    return ActionOutcome("purge_image", NOT_POSSIBLE, NOT_POSSIBLE_DETAIL[cause])


def _site_shows(ex: Executor, kind: str, alias: str, sha256: str | None) -> ActionOutcome | None:
    """Skipped when the site's icon, banner or sidebar shows the file: as the bot
    recorded them (the alias, or the same bytes), else as ``GET /site`` shows them now
    (the alias): a post linking the site's icon may be decided before the site is. None:
    go on (also when the action is done or planned already: ``once`` says so). Failed,
    to be tried again, when the site cannot be read."""
    site = ex.store.site_shows(alias, sha256)
    row = ex.store.action(kind, f"alias:{alias}")
    if site is None and alias and not (row and row["status"] in DONE):
        if ex.planned_already(kind, f"alias:{alias}"):
            return None
        try:
            info = ex.site_now()
        except LemmyError as exc:
            why = (
                f"could not read the site's icon, banner and sidebar right before acting "
                f"({exc}): not done, so that none of them is deleted; tried again next cycle"
            )
            return ActionOutcome(kind, "failed", why[:500], retry=True)
        site = _site_image(info, alias)
    if site is None:
        return None
    return ActionOutcome(kind, "skipped", f"the file is {_WHAT[site]} too: {ADMINS_IMAGE}")


def _site_image(info: SiteInfo, alias: str) -> str | None:
    """Which of the site's images (``site_icon``...) ``GET /site`` shows ``alias`` as."""
    shown = _alias_in(alias)
    for what, text in (
        ("site_icon", info.icon),
        ("site_banner", info.banner),
        ("site_sidebar", info.sidebar),
    ):
        if text and shown.search(text):
            return what
    return None


def _alias_in(alias: str) -> re.Pattern[str]:
    """Finds ``alias`` as the last segment of a URL in a text."""
    return re.compile(rf"/{re.escape(alias)}(?![\w.-])")


def _other_uploads(ex: Executor, alias: str) -> tuple[list[str], list[str]] | None:
    """The other aliases of ``alias``'s file (pict-rs keeps one file for identical
    bytes: purging it deletes every upload of it): those an admin uploaded, and those
    whose uploader the bot does not know (not in Lemmy's media list as the bot read it).
    None when there is nothing to ask: no pict-rs access, or the action done already.
    A dry run asks too (a read): it says what the live run would do."""
    return _sharing_uploads(
        ex, f"alias:{alias}", lambda: [a for a in ex.client.file_aliases(alias) if a != alias]
    )


_NOT_LISTED = "(pict-rs could not list them)"


def _sharing_uploads(
    ex: Executor, key: str, aliases: Callable[[], list[str]]
) -> tuple[list[str], list[str]] | None:
    """Of the aliases ``aliases()`` lists (the file the purge ``key`` takes), those an
    admin uploaded and those whose uploader the bot does not know (``_other_uploads``)."""
    if not ex.pictrs_api:
        return None
    row = ex.store.action("purge_image", key)
    if row and row["status"] in DONE:
        return None  # once() says so
    try:
        others = aliases()
    except LemmyError as exc:  # cannot tell whose the other uploads are: this one only
        log.warning("pict-rs could not list the aliases of %s: %s", key, exc)
        return [], [_NOT_LISTED]
    admins, unknown = [], []
    for other in others:
        uploader = ex.store.uploader(other)
        if uploader is None:
            unknown.append(other)
        elif uploader["person_id"] in ex.admin_ids:
            admins.append(other)
    return admins, unknown


@handles("delete_image")
def delete_image(ex: Executor, t: Target, planned: PlannedAction) -> ActionOutcome:
    """One alias only (pict-rs ``/internal/delete``), for an image merely unwanted: the
    file stays while another alias (the same bytes uploaded again) has it."""
    if t.kind in SITE_IMAGES:
        return ActionOutcome("delete_image", "skipped", ADMINS_IMAGE)
    if t.image_alias and ex.store.image_owners(t.image_alias, t.image_sha256) & ex.admin_ids:
        return ActionOutcome(
            "delete_image",
            "skipped",
            "the image is an admin's upload or in an admin's post: never acted on",
        )
    if t.image_alias:
        # the very alias the site shows (another alias of the same bytes leaves it)
        site = _site_shows(ex, "delete_image", t.image_alias, None)
        if site is not None:
            return site
    if t.file_exempt:
        return ActionOutcome("delete_image", "skipped", f"the file is spared: {t.file_exempt}")
    if t.uploader_exempt and t.image_alias:
        return ActionOutcome("delete_image", "skipped", _upload_spared(t))
    alias = t.image_alias
    if alias and (
        ex.store.image_purged(alias) or ex.planned_already("purge_image", f"alias:{alias}")
    ):
        # The purge (the same rule's, before it) took the file with every alias: deleting
        # the alias again would be a second request and a second destructive action.
        would = "would purge" if ex.dry_run else "purged"
        return ActionOutcome(
            "delete_image", "skipped", f"purge_image {would} the file with this alias"
        )
    if alias and ex.pictrs_api:
        return ex.once(
            "delete_image",
            f"alias:{alias}",
            f"delete alias {alias} from pict-rs (this alias only)",
            lambda: (
                None
                if ex.client.delete_alias(alias)
                else _gone_already(f"alias {alias}", "deleted")
            ),
            verify=lambda row: ex.client.image_gone(alias),
        )
    if alias and t.delete_token:
        token = t.delete_token
        return ex.once(
            "delete_image",
            f"alias:{alias}",
            f"delete upload {alias} with its delete token (this alias only)",
            lambda: ex.client.delete_image(alias, token),
            verify=lambda row: ex.client.image_gone(alias),
        )
    if alias:
        why = (
            "needs pict-rs access (PICTRS_URL, PICTRS_API_KEY) or the upload's delete "
            "token; the image stays"
        )
    else:
        why = "remote image: no alias of it in this instance's pict-rs; the image stays"
    return ActionOutcome("delete_image", NOT_POSSIBLE, why)


def _tell_not_possible(ex: Executor, cause: str, t: Target) -> None:
    """Tell the admins once per cause (ever; the audit lists every image)."""
    where = _where(t)
    if cause == "needs_pictrs":
        message = (
            f"purge_image could not purge the image of {where}: modbot has no "
            "pict-rs access. Set PICTRS_URL and PICTRS_API_KEY (docs/configuration.md); "
            "until then images in posts and comments stay in pict-rs when a rule "
            "says purge_image (the rule's other actions are done). Each is "
            "recorded as not_possible (`modbot report`); this message is sent once."
        )
    else:
        message = (
            f"purge_image cannot purge a remote image ({where}, image "
            f"{inert(t.image_original_url or t.image_url)}): it is stored on "
            "another server, not in this instance's pict-rs. The rule's other "
            "actions are done; each such image is recorded as not_possible "
            "(`modbot report`); this message is sent once."
        )
    ex.notify(f"purge_image:{cause}", message)


@handles("ban")
def ban(ex: Executor, t: Target, planned: PlannedAction) -> ActionOutcome:
    params = dict(planned.params or {})
    moderators_exempt = params.pop(MODERATORS_EXEMPT, False)  # the rule's (``modbot.rules``)
    if params.pop("uploader", False) and t.kind in ("post", "comment") and t.image_alias:
        # Whose file is it: the person who uploaded the image, when not the author.
        row = ex.store.uploader(t.image_alias)
        uploader = None if row is None else row.get("person_id")
        if row is not None and uploader is not None and uploader != t.author_id:
            plain = PlannedAction(planned.kind, planned.reason, params, planned.rule)
            outcomes = [HANDLERS["ban"](ex, t, plain)]
            if uploader in ex.admin_ids:
                outcomes.append(
                    ActionOutcome("ban", "skipped", "the uploader is an admin: never acted on")
                )
            elif t.uploader_exempt:
                outcomes.append(
                    ActionOutcome("ban", "skipped", f"the uploader is spared: {t.uploader_exempt}")
                )
            elif t.file_exempt:
                # An exempt item shows the file: banning who uploaded it would punish
                # what the exemption allows.
                outcomes.append(
                    ActionOutcome("ban", "skipped", f"the file is spared: {t.file_exempt}")
                )
            elif moderators_exempt and (
                moderates := _uploader_moderates(ex, int(uploader), t.community_id)
            ):
                outcomes.append(moderates)
            else:
                role = f"uploader of {t.image_alias}"
                of_upload = replace(
                    t,
                    author_id=int(uploader),
                    author_name=row.get("actor_id") or "",
                    author_role=role,
                )
                outcomes.append(HANDLERS["ban"](ex, of_upload, plain))
            return _combined("ban", outcomes)
    if t.author_id is None:
        return ActionOutcome("ban", "skipped", "the author is unknown")
    if moderators_exempt and t.kind == "file":
        moderates = _creator_moderates(ex, t)
        if moderates is not None:
            return moderates
    scope = params.get("scope", "site")
    seconds = params.get("duration_seconds")
    remove_data = bool(params.get("remove_data", False))
    reason = planned.reason or ""

    def ends() -> int | None:
        # None is permanent; a timed ban keeps its end, however short (0 must not mean
        # never), rounded up: it never ends before the rule's length
        return math.ceil(ex.clock() + seconds) if seconds is not None else None

    expires = ends()  # (again right before it is sent: ``ban`` below)
    length = f"for {timedelta(seconds=seconds)}" if seconds is not None else "permanently"
    data = ", removing their content" if remove_data else ""
    if t.author_role:  # a stored file's: its uploader, or who posted it (the audit says)
        data += f" (as {t.author_role})"
    person = int(t.author_id)
    community = None
    key = f"site:person:{person}"
    if scope == "community":
        if t.community_id is None:
            return ActionOutcome("ban", "skipped", "a community ban needs a community")
        community = int(t.community_id)
        key = f"community:{community}:person:{person}"

    def undo_lifting() -> ActionOutcome | None:
        # `modbot undo` (its own lock, beside the daemon) is lifting this person's ban
        # now: a ban sent meanwhile could reach Lemmy before the unban and be lifted with
        # it. An older claim is one a killed undo left: it holds nothing back.
        lifting = ex.store.action("unban", key)
        if (
            lifting is None
            or lifting["status"] != SENDING
            or time.time() - lifting["done_at"] >= UNDO_IN_FLIGHT_S
        ):
            return None
        return ActionOutcome(
            "ban",
            "failed",
            "modbot undo is lifting this person's ban right now: tried again next cycle",
            retry=True,
        )

    # Asked before Lemmy is read (no "already banned" taken for the ban being lifted),
    # and again in the ban's claim (``held``): undo's unban claimed in between is seen.
    lifting = undo_lifting()
    if lifting is not None:
        return lifting
    lifted = _ban_lifted_by_hand(ex, key, person, community, t.key)
    again = lifted or _ban_ran_out(ex, key, t.key)
    if lifted:
        data += " (the ban modbot placed before was lifted by hand; this is a new offence)"
    there = _longer_ban_there(ex, key, person, expires, community, again=again)
    if there is not None:
        lost = " (so their content is not removed by it)" if remove_data else ""
        return ActionOutcome("ban", "skipped", f"{there}: left as it is, never shortened{lost}")
    if remove_data and scope != "community":
        spared = _spared_upload_lost(ex, t, person)
        # the site and the admins read once a ban, not again for each item after it
        sent = ex.store.action("ban", f"site:person:{person}")
        first = not sent or sent["status"] not in DONE or again
        others = _other_uploads_lost(ex, person, t.image_alias if spared else None) if first else ""
        # what 0.19 takes changed by release (1.0 deletes every upload): said once
        lost = spared + others + (_which_lemmy(ex) if spared or others else "")
        if first:  # up to 0.19.10 the files of their image posts go, whoever uploaded them
            lost += _files_purged_lost(ex, t, person, t.image_alias if spared else None)
        data += lost
        if first:
            if lost:
                _tell_uploads_lost(ex, t, person, lost)
            data += _communities_lost(ex, t, person)
    if community is not None:
        cid = community
        describe = f"ban {t.author_name or person} from community {cid} {length}{data}"

        def send() -> None:
            ex.client.ban_community(person, cid, reason, expires=expires, remove_data=remove_data)

        def verify(row: dict) -> bool | None:
            # The item says whether its author is banned from its community; of anyone
            # else (its image's uploader), or once the item is purged, the community's
            # modlog does (sent again, the ban would be a second one, ending later).
            item = _read_item(ex, t)
            if item is None or item.author is None or item.author.id != person:
                return _community_ban_there(ex, key, person, cid)
            return item.author_banned_from_community
    else:
        describe = f"ban {t.author_name or person} from the site {length}{data}"

        def send() -> None:
            ex.client.ban_site(person, reason, expires=expires, remove_data=remove_data)

        def verify(row: dict) -> bool | None:
            who = ex.client.person(person)
            ends = who.ban_expires.timestamp() if who.ban_expires else None
            # A ban that ran out before the claim is the old one, not this one.
            return who.banned and (
                ends is None if expires is None else ends is not None and ends > row["done_at"]
            )

    def ban() -> None:
        nonlocal expires
        # The rule's length counts from now, not from before the reads above (a short
        # ban on a loaded machine reached Lemmy over already: ban_expiration_in_past).
        expires = ends()
        # Its end is kept before it is sent: killed while sending, the ban Lemmy shows
        # done at the restart must still run out (a new offence after it is banned anew).
        # ("asked": the decisions for other items that find this ban in place: below)
        ex.store.set_cursor(
            f"ban:{key}", json.dumps({"expires": expires, "item": t.key, "asked": {}})
        )
        send()

    def asked_too(row: dict) -> None:
        # The bot's ban, placed for another item, is in place: this item asks for it too
        # (the person offended again while banned). Kept with the ban in the claim's
        # transaction, where `modbot undo`'s unban claim reads it: an undo in the moment
        # before this decision is recorded does not lift the ban this item asks for.
        if row.get("item") == t.key:
            return
        try:
            last = json.loads(ex.store.get_cursor(f"ban:{key}") or "{}")
        except ValueError:
            last = {}
        if not isinstance(last, dict):
            last = {}
        if not isinstance(last.get("asked"), dict):
            # a ban placed before these were kept: undo reads the audit for the earlier ones
            last["asked"], last["read_audit"] = {}, True
        last["asked"][t.key] = {"at": ex.clock(), "sha256": t.image_sha256}
        ex.store.set_cursor(f"ban:{key}", json.dumps(last))

    return ex.once(
        "ban",
        key,
        describe,
        ban,
        again=again,
        verify=verify,
        held=undo_lifting,
        found=asked_too,
    )


def _uploader_moderates(ex: Executor, person: int, community: int | None) -> ActionOutcome | None:
    """The uploader's ban skipped, as the rule spares such an author, when ``person``
    moderates the item's ``community`` (read live: a moderator added or removed since
    counts); failed, tried again next cycle, when Lemmy cannot say. None: ban them."""
    if community is None:
        return None
    try:
        theirs = ex.client.moderates(person)
    except LemmyError as exc:
        return ActionOutcome(
            "ban",
            "failed",
            f"could not read whether the uploader moderates community {community} "
            f"(the rule exempts moderators): {exc}; tried again next cycle",
            retry=True,
        )
    if int(community) not in theirs:
        return None
    return ActionOutcome(
        "ban",
        "skipped",
        "the uploader is spared: the uploader moderates this community "
        "(the rule exempts moderators)",
    )


def _creator_moderates(ex: Executor, t: Target) -> ActionOutcome | None:
    """A stored file's ban, no uploader known, goes to the creator of the first post or
    comment showing it (``modbot.store_source``): skipped when they moderate its
    community, as the rule spares them deciding that item (``_moderators_item``)."""
    if not (t.author_role or "").startswith("creator of "):
        return None
    first = next(((k, i, a) for k, i, a in t.shown_by if a is not None), None)
    if first is None or first[2] != t.author_id:
        return None
    shown = replace(t, kind=first[0], id=int(first[1]), url="", shown_by=())
    return _moderators_item(ex, "ban", shown)


def _longer_ban_there(
    ex: Executor,
    key: str,
    person: int,
    expires: int | None,
    community: int | None,
    *,
    again: bool,
) -> str | None:
    """The ban the person has already (an admin's or a moderator's, or another rule's),
    from the site or (``community``) from that community, when it ends no earlier than
    this one would: Lemmy (0.19 and 1.0) keeps one end per person, and per person and
    community, so sending this ban would replace it and unban them early. None: send it
    (none there, a shorter one, or the store has this ban's own state, which ``once``
    settles)."""
    row = ex.store.action("ban", key)
    if row is not None and (row["status"] == SENDING or (row["status"] in DONE and not again)):
        return None
    if community is None:
        where = "the site"
        try:
            who = ex.client.person(person)
        except LemmyError as exc:
            log.warning("could not read person %s before banning them: %s", person, exc)
            return None
        if not who.banned:
            return None
        until = who.ban_expires
    else:
        # Lemmy shows no community ban's end on the person, and 0.19 none on an item
        # either: the newest line of the community's modlog about them says it.
        where = f"community {community}"
        try:
            line = ex.client.last_mod_action("community_ban", person, community_id=community)
        except LemmyError as exc:
            log.warning(
                "could not read the modlog of community %s before banning person %s: %s",
                community,
                person,
                exc,
            )
            return None
        if line is None or line.revert:
            return None
        until = line.expires
        if until is not None and until.timestamp() <= ex.clock():
            return None  # it ran out
    if until is None:
        return f"already banned from {where} permanently"
    if expires is not None and until.timestamp() >= expires:
        return f"already banned from {where} until {until.isoformat(timespec='seconds')}"
    return None


def _community_ban_there(ex: Executor, key: str, person: int, community: int) -> bool:
    """Whether the community's modlog shows the ban ``key`` modbot was sending in force:
    its newest line on the person is a ban (no unban), by modbot (when Lemmy names who),
    not run out, ending when the one sent ends (kept before it was sent: ``ban``). A ban
    of modbot's from before (run out, or lifted) is no such line."""
    try:
        sent = json.loads(ex.store.get_cursor(f"ban:{key}") or "{}")
    except ValueError:
        return False
    if not isinstance(sent, dict) or "expires" not in sent:
        return False
    line = ex.client.last_mod_action("community_ban", person, community_id=community)
    if line is None or line.revert:
        return False
    if line.moderator_id is not None and ex.bot_person_id not in (None, line.moderator_id):
        return False
    expires = sent["expires"]
    if line.expires is None or expires is None:
        return line.expires is None and expires is None
    ends = line.expires.timestamp()
    return ends > ex.clock() and abs(ends - float(expires)) <= 1


def _release(ex: Executor) -> tuple[int, ...] | None:
    """This Lemmy 0.19's release (the v3 client's, from nodeinfo); None on 1.0 or when it
    cannot be read."""
    if ex.client.api_version != "v3":
        return None
    release = getattr(ex.client, "release", None)
    return release() if callable(release) else None


def _purges_files(ex: Executor) -> bool | None:
    """Whether a site ban's remove_data purges files on this Lemmy (0.19.0 to 0.19.10:
    their avatar's, banner's and image posts', whoever uploaded them): True, False
    (0.19.11+, 1.0: it deletes their uploads' aliases), None: a 0.19 whose release
    cannot be read."""
    if ex.client.api_version != "v3":
        return False
    known = _release(ex)
    return None if known is None else known < (0, 19, 11)


def _files_purged_lost(ex: Executor, t: Target, person: int, said: str | None) -> str:
    """What a site ban's remove_data purges on 0.19.0 to 0.19.10 (or a 0.19 whose release
    cannot be read) that is not the person's own upload: the file of their avatar and
    banner, and of this post's link and thumbnail (a link into pict-rs), read live (the
    person, the post), and of their other image posts as the bot recorded them (Lemmy
    purges every post of theirs linking a pict-rs image: reading each would be a request
    a post), when an admin uploaded or shows it, the site shows it, or an exempt item
    shows it (this image only: modbot spares those). ``said``: named already."""
    purges = _purges_files(ex)
    if purges is False:
        return ""
    try:
        who = ex.client.person(person)
        urls = [
            (f"{what} of theirs", url)
            for what, url in (("the avatar", who.avatar), ("the banner", who.banner))
        ]
        post = _read_item(ex, t) if t.kind == "post" else None
    except LemmyError as exc:
        log.warning("could not read the files a ban of %s purges: %s", person, exc)
        return ""
    if post is not None and post.link and "pictrs/image" in post.link:
        urls += [(f"post {t.id}'s link", post.link), (f"post {t.id}'s thumbnail", post.thumbnail)]
    files = [
        (what, alias, t.image_sha256 if alias == t.image_alias else None)
        for what, url in urls
        for alias in [_alias_of(url)]
    ]
    shown = {"post_url": "link", "thumbnail": "thumbnail"}
    files += [
        (f"post {row['post_id']}'s {shown[row['location']]}", row["alias"], row["sha256"])
        for row in ex.store.post_files_of(person)
        if not (t.kind == "post" and row["post_id"] == t.id)  # this one: read live above
    ]
    places: dict[str, str] = {}
    for what, alias, sha256 in files:
        if not alias or alias == said or alias in places:
            continue
        uploader = ex.store.uploader(alias)
        if uploader is not None and uploader.get("person_id") == person:
            continue  # their own upload: ``_other_uploads_lost`` names it when shown
        site = ex.store.site_shows(alias, sha256)
        if ex.store.image_owners(alias, sha256) & (ex.admin_ids - {person}):
            why = "an admin's upload or in an admin's post"
        elif site is not None:
            why = _WHAT[site]
        elif alias == t.image_alias and t.file_exempt:
            why = t.file_exempt
        else:
            continue
        places[alias] = f"{what}, {why}"
    if not places:
        return ""
    listed = [f"{alias} ({where})" for alias, where in places.items()]
    more = len(listed) - MAX_NAMED_UPLOADS
    named = ", ".join(listed[:MAX_NAMED_UPLOADS]) + (f" and {more} more" if more > 0 else "")
    log.warning("a ban removing the data of %s also purges %s", person, named)
    release = _release(ex)
    lemmy = (
        f"this Lemmy, {'.'.join(str(n) for n in release)}, also purges"
        if purges and release
        else "Lemmy 0.19.10 and earlier also purge"
    )
    return (
        f"; {lemmy} the files of their avatar, banner and image posts, whoever uploaded "
        f"them: {named}, which modbot spares: those lose the image"
    )


def _alias_of(url: str | None) -> str:
    """The pict-rs alias a link into pict-rs names (its last path segment), as Lemmy
    takes it to purge the file; "" for none."""
    return (url or "").split("?")[0].rstrip("/").rpartition("/")[2]


def _which_lemmy(ex: Executor) -> str:
    """What a site ban's remove_data takes of the person's uploads changed within 0.19
    (Lemmy's remove_user_data, read in its tags): 0.19.11+ (and 1.0) delete every upload,
    0.19.0 to 0.19.10 purge instead the files of their avatar, banner and image posts.
    Said of this Lemmy's release (nodeinfo), or of both when it cannot be read."""
    if ex.client.api_version != "v3":
        return ""
    known = _release(ex)
    if known is not None and known >= (0, 19, 11):
        return ""
    purge = "the files of their avatar, banner and image posts, whoever else shows them"
    if known is not None:
        version = ".".join(str(n) for n in known)
        return (
            f" (so do Lemmy 0.19.11+ and 1.0; this Lemmy, {version}, purges instead {purge},"
            " and keeps their other uploads)"
        )
    return f" (Lemmy 0.19.11+ and 1.0; 0.19.10 and earlier purge instead {purge})"


def _spared_upload_lost(ex: Executor, t: Target, person: int) -> str:
    """What a site ban's `remove_data` takes that modbot spares: Lemmy deletes every
    upload of the banned person (0.19.11+ and 1.0 delete each alias; 0.19.0 to 0.19.10
    purge the files of their avatar, banner and image posts instead), so also this
    item's image when they uploaded it and an admin's or an exempt item shows it. modbot
    sends the ban as the rule says, and its record says so (never silently)."""
    return _this_upload_lost(ex, t, person)


def _this_upload_lost(ex: Executor, t: Target, person: int) -> str:
    alias = t.image_alias
    if not alias:
        return ""
    row = ex.store.uploader(alias)
    uploader = row.get("person_id") if row else (t.author_id if t.kind == "upload" else None)
    if uploader is None or int(uploader) != person:
        return ""
    if ex.store.image_owners(alias, t.image_sha256) & (ex.admin_ids - {person}):
        why = "an admin's upload or in an admin's post"
    elif t.file_exempt:
        why = t.file_exempt
    else:
        return ""
    log.warning("a ban removing the data of %s also deletes upload %s (%s)", person, alias, why)
    return (
        f"; Lemmy also deletes their uploads, {alias} among them, which modbot spares "
        f"({why}): what shows it loses the image"
    )


# at most this many of a person's other uploads an admin shows are named in the record
MAX_NAMED_UPLOADS = 20


def _other_uploads_lost(ex: Executor, person: int, said: str | None) -> str:
    """The banned person's uploads (alias -> uploader index; but ``said``, named already)
    that the site or an admin shows: Lemmy deletes those too. Read live (``GET /site``
    and each admin: the site's icon, banner and sidebar, their avatar, banner and bio)
    and as the bot recorded them (an admin's post or comment)."""
    aliases = [a for a in ex.store.uploads_of(person) if a != said]
    if not aliases:
        return ""
    places = _shown_by_site_and_admins(ex, aliases, person)
    for shown in ex.store.uploads_admins_show(person, ex.admin_ids):
        if shown["alias"] in aliases:
            places.setdefault(shown["alias"], _admins_place(shown["kind"], shown["item_id"]))
    if not places:
        return ""
    named = [f"{alias} ({where})" for alias, where in places.items()]
    more = len(named) - MAX_NAMED_UPLOADS
    listed = ", ".join(named[:MAX_NAMED_UPLOADS]) + (f" and {more} more" if more > 0 else "")
    log.warning(
        "a ban removing the data of %s also deletes %d upload(s) the site or an admin shows: %s",
        person,
        len(named),
        listed,
    )
    return (
        "; Lemmy also deletes these uploads of theirs, which the site or an admin shows: "
        f"{listed}: those lose the image"
    )


def _tell_uploads_lost(ex: Executor, t: Target, person: int, lost: str) -> None:
    """Tell the admins once per person what the ban's ``remove_data`` takes from what
    the site or they show (the record says it too); the ban is sent as the rule says."""
    what = lost.removeprefix("; ").replace("Lemmy also deletes", "Lemmy deletes", 1)
    ex.notify(
        f"ban_data:{person}",
        f"A site ban with remove_data of {inert(t.author_name or person)}: {inert(what)}. "
        "The ban is sent as the rule says; put the images back where they were shown "
        "(upload them again) or change the rule's remove_data.",
    )


# at most this many communities a ban removes are named in its record and message
MAX_NAMED_COMMUNITIES = 20


def _communities_lost(ex: Executor, t: Target, person: int) -> str:
    """What a site ban's ``remove_data`` takes besides the person's own content: every
    community they are the first (top) moderator of is removed, with everyone's posts in
    it, and its icon and banner unset (purged from pict-rs up to 0.19.10). Read before
    the ban is sent (reads only: a dry run too); the record says it, and the admins are
    told once per person. The ban is sent as the rule says."""
    would = "would also remove" if ex.dry_run else "also removes"
    try:
        led = ex.client.communities_led(person)
    except LemmyError as exc:
        log.warning(
            "could not read which communities %s is the first moderator of: %s", person, exc
        )
        return (
            f"; Lemmy {would} every community they are the first moderator of "
            f"(modbot could not read which: {exc})"
        )
    if not led.communities:
        return ""
    names = [inert(c.actor_id or c.name or f"community {c.id}") for c in led.communities]
    more = len(names) - MAX_NAMED_COMMUNITIES
    listed = ", ".join(names[:MAX_NAMED_COMMUNITIES]) + (f" and {more} more" if more > 0 else "")
    if led.unread:
        listed += f" (and maybe some of the {led.unread} more they moderate, not read)"
    what = (
        f"the {len(names)} communit{'y' if len(names) == 1 else 'ies'} they are the first "
        f"moderator of, with everyone's posts in them, and their icons and banners: {listed}"
    )
    log.warning("a ban removing the data of %s also removes %s", person, what)
    ex.notify(
        f"ban_communities:{person}",
        f"A site ban with remove_data of {inert(t.author_name or person)}: Lemmy removes "
        f"{what}. The ban is sent as the rule says; restore the communities that should "
        "stay (their icons and banners are not restored) or change the rule's remove_data.",
    )
    return f"; Lemmy {would} {what}"


def _shown_by_site_and_admins(ex: Executor, aliases: list[str], person: int) -> dict[str, str]:
    """Which of ``aliases`` the site's icon, banner or sidebar or an admin's avatar,
    banner or bio shows now (an alias is the last segment of its URL)."""
    try:
        site = ex.client.site_info()
        texts = [
            (_WHAT["site_icon"], site.icon),
            (_WHAT["site_banner"], site.banner),
            (_WHAT["site_sidebar"], site.sidebar),
        ]
        for admin_id in sorted(set(site.admin_ids) - {person}):
            admin = ex.client.person(admin_id)
            texts += [
                (f"admin {admin_id}'s avatar", admin.avatar),
                (f"admin {admin_id}'s banner", admin.banner),
                (f"an image in admin {admin_id}'s bio", admin.bio),
            ]
    except LemmyError as exc:
        log.warning("could not read the site's and the admins' images (%s)", exc)
        return {}
    found: dict[str, str] = {}
    for alias in aliases:
        pattern = _alias_in(alias)
        for what, text in texts:
            if text and pattern.search(text):
                found[alias] = what
                break
    return found


def _admins_place(kind: str, item_id: object) -> str:
    """Where the site or an admin shows an upload, in words (a recorded decision)."""
    if kind in SITE_IMAGES:
        return _WHAT.get(kind, kind)
    if kind in ("post", "comment"):
        return f"an admin's {kind} {item_id}"
    return f"admin {str(item_id).partition(':')[0]}'s {kind}"


def _ban_lifted_by_hand(
    ex: Executor, key: str, person: int, community: int | None, item_key: str
) -> bool:
    """modbot's ban, done for another item and not run out, that Lemmy no longer shows
    (an admin or moderator lifted it in lemmy-ui; `modbot undo` records its own): a new
    offence is banned anew, as the rule says. The item the ban was placed for is never
    banned again (the lifting stands for it). Lemmy unread: as before, taken as in place."""
    row = ex.store.action("ban", key)
    if row is None or row["status"] not in DONE:
        return False
    try:
        last = json.loads(ex.store.get_cursor(f"ban:{key}") or "{}")
    except ValueError:
        last = {}
    if ex.dry_run:
        # `modbot report` re-decides recorded items: none is a new offence to plan a ban
        # for (nor worth a read of Lemmy each); a dry run says "already done" as before
        return False
    if not isinstance(last, dict) or last.get("item") == item_key:
        return False
    if item_key in (last.get("asked") or {}):
        return False  # decided while the ban was in place: not an offence after the lifting
    if last.get("expires") is not None and last["expires"] <= ex.clock():
        return False  # ran out: ``_ban_ran_out`` says so
    seen = ex.bans_seen.get(key)
    if seen is not None and time.monotonic() - seen < BAN_SEEN_FOR_S:
        return False
    try:
        if community is None:
            lifted = not ex.client.person(person).banned
        else:
            line = ex.client.last_mod_action("community_ban", person, community_id=community)
            lifted = line is not None and line.revert
    except LemmyError as exc:
        log.warning("could not read whether person %s is still banned: %s", person, exc)
        return False
    ex.bans_seen.pop(key, None)
    if not lifted:
        if len(ex.bans_seen) >= MAX_BANS_SEEN:  # bounded: the longest seen forgotten first
            del ex.bans_seen[next(iter(ex.bans_seen))]
        ex.bans_seen[key] = time.monotonic()
    return lifted


# A ban Lemmy showed in place is taken as still there this long (a sweep over a banned
# person's 500 posts reads Lemmy a few times, not 500), for at most this many keys: a
# lifting is noticed within it.
BAN_SEEN_FOR_S = 60.0
MAX_BANS_SEEN = 10_000


def _ban_ran_out(ex: Executor, key: str, item_key: str) -> bool:
    """A temporary ban that has run out: a new offence (another item) is banned anew."""
    last = json.loads(ex.store.get_cursor(f"ban:{key}") or "{}")
    return (
        last.get("expires") is not None
        and last["expires"] <= ex.clock()
        and last.get("item") != item_key
    )


@handles("reject")
def reject(ex: Executor, t: Target, planned: PlannedAction) -> ActionOutcome:
    # Only `type: incoming` rules ask for it (the schema sees to it), and only the upload
    # gate (modbot.modes.gate) decides incoming files: the bot never has one to carry out.
    return ActionOutcome("reject", "skipped", "only the upload gate (modbot gate) rejects files")


@handles("report")
def report(ex: Executor, t: Target, planned: PlannedAction) -> ActionOutcome:
    reason = planned.reason or "modbot"
    if t.kind == "file" and t.shown_by:
        return _on_showing(ex, t, planned, report)
    if t.kind == "post":
        return ex.once(
            "report",
            t.key,
            f"report post {t.id}",
            lambda: _file_report(ex, t, lambda: ex.client.report_post(int(t.id), reason)),
            verify=lambda row: _reported(ex, t),
            refused=lambda: _not_up(ex, t),
        )
    if t.kind == "comment":
        return ex.once(
            "report",
            t.key,
            f"report comment {t.id}",
            lambda: _file_report(ex, t, lambda: ex.client.report_comment(int(t.id), reason)),
            verify=lambda row: _reported(ex, t),
            refused=lambda: _not_up(ex, t),
        )
    # Lemmy has no report for an upload, a stored file or a profile image: tell the
    # admins instead.
    owner = f" of {inert(t.author_name)}" if t.kind in _PERSONS and t.author_name else ""
    what = _what(t).split(" ", 1)[1]
    return ex.notify(
        _notice_key(t), f"{reason} ({what}{owner} {inert(t.image_url)})", action="report"
    )


@handles("notify_admins")
def notify_admins(ex: Executor, t: Target, planned: PlannedAction) -> ActionOutcome:
    message = planned.reason or "an image matched a rule"
    return ex.notify(_notice_key(t), f"{message} ({_where(t)})")


def _notice_key(t: Target) -> str:
    """What a notice is claimed under, once: the item, and for a profile image (one key
    per owner: ``avatar:<person id>``) the image too, so that a second bad avatar is
    told as the first was, and the same one re-read is not told again."""
    if t.kind in PROFILE_KINDS:
        return f"{t.key} {t.image_sha256 or t.image_url or ''}".rstrip()
    return t.key


# --- did it happen? -----------------------------------------------------------------------
# Asked only for an action a killed process was sending (see ``_settle``).


def _read_item(ex: Executor, t: Target) -> Item | None:
    """The item read by id, or None when Lemmy no longer has it (purged)."""
    try:
        if t.kind == "post":
            return ex.client.post(int(t.id))
        if t.kind == "comment":
            return ex.client.comment(int(t.id))
    except LemmyUnavailable:
        raise
    except LemmyError as exc:
        if exc.status == 404 or (exc.error or "").startswith("couldnt_find"):
            return None
        raise
    raise LemmyError(f"{t.kind} {t.id} cannot be read by id")


def _unless_removed(ex: Executor, t: Target, send: Callable[[], None]) -> FoundGone | None:
    """Send a removal unless Lemmy shows the post or comment removed already: by a
    moderator or admin, or by a ban with ``remove_data`` (Lemmy 0.19 and 1.0 remove all
    the person's posts and comments: the default rule's ban removes the rest of a spam
    wave). A second removal would write a modlog line in the bot's name, count against
    the safety valve (a wave of 20 posts tripped it) and be restored by ``modbot undo``
    as the bot's. A read that fails is no answer: the removal is sent, as before."""
    try:
        item = _read_item(ex, t)
    except LemmyError as exc:
        log.info("%s %s: cannot read whether it is removed (%s): removal sent", t.kind, t.id, exc)
        item = None
    if item is None or not item.removed:
        send()
        return None
    who = _removed_by(ex, t, item)
    undo = (
        "`modbot undo` of the ban restores it with --restore-content (Lemmy 1.0)"
        if who.startswith("the bot's ban")
        else "`modbot undo` leaves it"
    )
    return FoundGone(
        f"{t.kind} {t.id}: removed already, by {who}: not sent again (not counted by the "
        f"safety valve; {undo})",
        theirs=True,
    )


def _removed_by(ex: Executor, t: Target, item: Item) -> str:
    """Who removed ``item``, as Lemmy says it: its modlog's newest line on it (1.0 writes
    one for each post and comment a ban's ``remove_data`` removes), else its author's ban
    (0.19's ``remove_data`` writes no line of its own)."""
    community = item.community.id if item.community is not None else None
    try:
        line = ex.client.last_mod_action(f"remove_{t.kind}", int(t.id), community_id=community)
    except LemmyError as exc:
        line, unread = None, f" (Lemmy's modlog could not be read to say who: {exc})"
    else:
        unread = ""
    if line is not None and not line.revert:
        if line.moderator_id is not None and line.moderator_id == ex.bot_person_id:
            who = "the bot"
        elif line.moderator_id is not None:
            who = line.moderator or f"person {line.moderator_id}"
        else:
            who = "a moderator or admin (Lemmy hides who from the bot's account)"
        at = line.when.isoformat(timespec="seconds")
        if line.bulk:
            return f"{who}'s ban of its author, which removed their content (modlog, {at})"
        return f"{who} (modlog, {at})"
    author = item.author.id if item.author is not None else t.author_id
    bans = [("site", f"site:person:{author}", item.author is not None and item.author.banned)]
    if community is not None:
        key = f"community:{community}:person:{author}"
        bans.append(("community", key, item.author_banned_from_community))
    for where, key, banned in bans:
        if not banned:
            continue
        row = ex.store.action("ban", key) or {}
        if row.get("status") == "done" and "removing their content" in (row.get("detail") or ""):
            return f"the bot's ban of its author from the {where}, which removed their content"
        return f"its author's ban from the {where}, which can remove their content{unread}"
    return f"a moderator or admin{unread or ' (the modlog has no line on it)'}"


def _item_removed(ex: Executor, t: Target) -> bool:
    item = _read_item(ex, t)
    # Gone altogether (purged) leaves nothing to remove.
    return item is None or item.removed


# Lemmy 0.19's answer to a second report by one account on one item (`UNIQUE
# (post_id, creator_id)`); 1.0 answers a generic `couldnt_create`.
_REPORTED_ALREADY = "couldnt_create_report"


def _file_report(ex: Executor, t: Target, send: Callable[[], object]) -> None:
    """Send a report. Refused as a second one while Lemmy shows the bot's report there
    (a first attempt Lemmy took but whose answer was lost: a proxy's 502, a timeout),
    it was done: no error. A bot that sees no report list (no admin) takes 0.19's
    `couldnt_create_report` for that answer."""
    try:
        send()
    except LemmyUnavailable:
        raise
    except LemmyError as exc:
        if exc.error not in (_REPORTED_ALREADY, "couldnt_create"):
            raise
        try:
            there = _reported(ex, t)
        except (LemmyUnavailable, LemmyLoginError):
            raise
        except LemmyError:  # a bot that moderates nothing may list no reports
            there = None
        if there is False or (there is None and exc.error != _REPORTED_ALREADY):
            raise
        log.info("%s %s: Lemmy has modbot's report already", t.kind, t.id)


def _not_up(ex: Executor, t: Target) -> str | None:
    """Why a report Lemmy refused cannot be filed at all: the post or comment is removed
    or gone (a removal sent after a report that failed for a passing reason, a ban that
    removed the author's content, a moderator). Lemmy takes no report on it."""
    item = _read_item(ex, t)
    if item is None:
        return f"the {t.kind} is gone (purged): Lemmy takes no report on it"
    if item.removed:
        return f"the {t.kind} is removed: Lemmy takes no report on a removed {t.kind}"
    if item.deleted:
        return f"its author deleted the {t.kind}: Lemmy takes no report on a deleted {t.kind}"
    return None


def _not_removable(ex: Executor, t: Target) -> str | None:
    """Why a removal Lemmy refused cannot be done: the comment is deleted by its author
    (0.19.4+ and 1.0 remove no deleted comment: its text would show in the mod log)."""
    item = _read_item(ex, t)
    if item is not None and item.deleted:
        return (
            f"its author deleted the {t.kind}, which hides it from all but admins; "
            f"Lemmy removes no deleted {t.kind}"
        )
    return None


def _reported(ex: Executor, t: Target) -> bool | None:
    if ex.bot_person_id in ex.client.reporters(t.kind, int(t.id)):
        return True
    # Lemmy lists reports to moderators and admins only: to a bot account that is no
    # admin an empty list does not say the report never went.
    return False if ex.bot_person_id in ex.admin_ids else None
