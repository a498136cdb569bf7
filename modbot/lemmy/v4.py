"""Lemmy 1.0 (API v4): ``LemmyClientV4``, the v4 implementation of ``LemmyApi``, with httpx.

Every request goes through the shared ``Transport`` (retries, backoff, request-rate
cap, one deadline per request, re-login on 401, 429 ``too_many_requests`` and its
``Retry-After``); answers become records in ``views_v4``. What 1.0 changes for a bot,
and what this client does about it (facts: ``shared/reference/lemmy-api.md``, v4):

- login sends ``stay_logged_in: true`` (else the token silently dies after a week);
  ``/site`` has no ``my_user``: the account is ``GET /account`` (401 when the token was
  dropped, so the transport logs in again), and ``check_session`` first asks
  ``GET /account/validate_auth`` (400 ``not_logged_in`` for a dropped token);
- listings page by opaque cursors only (``{items, next_page}``). ``posts`` pass them
  on; ``comments`` and ``uploads`` keep the protocol's page numbers, the client keeping
  the cursor of each page it handed out. Every post listing sends the overrides of
  what 1.0 hides by default (``time_range_seconds=0``, ``show_read``, ``show_hidden``,
  ``show_nsfw``, ``hide_posts_with_media=false``) and ``mark_as_read=false``;
- the admin media list (``GET /image/list``) has no order: a poll's ``uploads`` walks
  all of it once per walk and hands out its newest ``MEDIA_KEPT`` newest first, all a
  reader reaches (a repeated page or cursor ends the walk); a sweep's
  ``upload_pages`` hands out every page in the list's own order by its cursor;
- actions carry an ``Idempotency-Key``: a retry after a timeout that Lemmy had already
  carried out answers 422, read as done. Lemmy keeps a key before its rate limiter and
  its handler run and never forgets it on an error, so the retry of an error Lemmy
  itself answered (a 429, its JSON error body) gets a new key; an answer Lemmy never
  gave (a proxy's 502/504 page, a cut connection, a timeout) keeps it, as the action
  may have run; ``reason`` is required everywhere; bans send
  ``remove_or_restore_data`` and ``expires_at``; removals never send
  ``remove_children`` (it removes the replies too: more than a rule says);
- an upload's file is purged through pict-rs' internal API only. Lemmy's admin
  ``DELETE /image`` purges every alias of the file too, but nothing in 1.0's API says
  first which other uploads share it (an admin's among them), as pict-rs'
  ``/internal/aliases`` does: without pict-rs' key ``can_purge_files`` is false, so
  ``purge_image`` is recorded not possible. 1.0 has no delete tokens: deleting one
  alias needs pict-rs' API too (``delete_image`` with a token refuses, sending nothing);
- 1.0 has no list of the messages one sent: ``sent_messages`` reads them from the
  account's private-message notifications, which list them beside those received (a
  bot account sees its own only with ``show_bot_accounts`` on, as a live run sets it).

Long because Lemmy 1.0's API is wide (cursor listings, every action, reports, messages,
the unordered media list, undo); each method is a few lines on the shared transport.
"""

from __future__ import annotations

import base64
import dataclasses
import heapq
import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

from modbot.config.settings import Secret
from modbot.errors import LemmyBadAnswer, LemmyError, LemmyLoginError
from modbot.lemmy import views_v4
from modbot.lemmy.api import (
    MAX_PAGE,
    MODLOG_PAGES,
    NEVER_LISTED,
    PAGE,
    LedCommunities,
    ModlogEntry,
    communities_led,
    moderated_ids,
    modlog_too_long,
)
from modbot.lemmy.pictrs import Pictrs, PictrsStore, gone
from modbot.lemmy.transport import LoggedOut, Transient, Transport, kind_of
from modbot.lemmy.viewcheck import malformed_answer, person_shown, read_person_view, read_view
from modbot.model import (
    VIDEO_EXTENSIONS,
    Community,
    Item,
    Message,
    Page,
    Person,
    SiteInfo,
    extension,
    parse_time,
)

__all__ = ["MAX_MEDIA_PAGES", "MEDIA_KEPT", "LemmyClientV4", "post_cursor"]

log = logging.getLogger(__name__)

#: The most pages of ``GET /image/list`` one walk reads (2.5 million uploads).
MAX_MEDIA_PAGES = 50_000
#: The newest uploads one walk keeps: what ``uploads`` can hand out (``MAX_PAGE`` pages).
MEDIA_KEPT = MAX_PAGE * PAGE
#: The most pages of the private-message notifications one page of ``sent_messages`` reads.
SENT_PAGES = 20
#: The most pages of ``report/list`` one look for the bot's report on an item reads.
REPORT_PAGES = 20
#: How 1.0 renders a still of a video upload (0.19's ``format=``/``thumbnail=`` are ignored)
VIDEO_STILL_QUERY_V4 = "file_type=jpg&max_size=1024"

# Lemmy 1.0's cursor (diesel_utils/src/pagination.rs): URL-safe base64 without padding, in
# a shuffled alphabet, of `b=<back>&d=<row id>&r=<recovery>`.
_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_LEMMY_ALPHABET = "AphruVFwvCetlckdZ2g-foxXBGNbyHnD96qUj3KL_YsE7P1OQiaIR0z4T58mMWJS"
_TO_LEMMY = str.maketrans(_BASE64, _LEMMY_ALPHABET)

# What 1.0 hides from a listing by default, and the bot's override of each.
POST_LIST = {
    "type_": "all",
    "sort": "new",
    "time_range_seconds": 0,  # 0 = no time range (else the account's or the site's)
    "show_nsfw": "true",
    "show_read": "true",
    "show_hidden": "true",
    "hide_posts_with_media": "false",
    "mark_as_read": "false",  # a read, not an action: never mark posts read
}
COMMENT_LIST = {"type_": "all", "sort": "new", "time_range_seconds": 0}
COMMUNITY_LIST = {"type_": "all", "sort": "new", "show_nsfw": "true"}


def post_cursor(post_id: int) -> str:
    """The ``page_cursor`` that lists the posts after ``post_id`` (as ``next_page`` does)."""
    raw = urlencode({"b": "false", "d": str(post_id), "r": "false"})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=").translate(_TO_LEMMY)


def _paged(body: dict[str, Any], what: str) -> tuple[list[Any], str | None]:
    """A ``PagedResponse``: (items, next_page)."""
    items = body.get("items")
    if not isinstance(items, list):
        raise LemmyBadAnswer(
            f"{what}: Lemmy's answer has no list 'items' (got {kind_of(items)}); is "
            "LEMMY_URL a Lemmy 1.0 API, not a proxy or another site?",
            error="bad_answer",
        )
    next_page = body.get("next_page")
    if next_page is not None and not isinstance(next_page, str):
        raise LemmyBadAnswer(
            f"{what}: next_page is {kind_of(next_page)}, not a string", error="bad_answer"
        )
    return items, next_page or None


def _unless_cursor_gone(
    read: Callable[[], tuple[Any, Any]], cursor: str | None, listing: str, what: str, walk: str
) -> tuple[Any, Any] | None:
    """``read()`` of a cursor-paged list, or None (said) when the cursor's ``what`` is
    gone since (purged: 404): the list has no order to resume from elsewhere, so the
    walk ends and the next sweep reads it from its start."""
    try:
        return read()
    except LemmyError as exc:
        if cursor is None or not _gone(exc):
            raise
    log.warning(
        "%s: the page cursor's %s is gone (purged); the walk of the %s list stops here "
        "(the next sweep reads it from its start)",
        listing,
        what,
        walk,
    )
    return None


def _gone(exc: LemmyError) -> bool:
    return exc.status == 404 or exc.error == "not_found"


# A modlog action: its ModlogKind, and the filter naming the target
_MODLOG = {
    "remove_post": ("mod_remove_post", "post_id"),
    "remove_comment": ("mod_remove_comment", "comment_id"),
    "ban": ("admin_ban", "other_person_id"),
    "community_ban": ("mod_ban_from_community", "other_person_id"),
}


def _modlog_entry(action: str, view: Any) -> ModlogEntry:
    """One ``ModlogView``. 1.0's row names no moderator: who acted is its ``moderator``,
    left out when Lemmy hides it from this account (not an admin, site-wide)."""
    with malformed_answer("modlog"):
        row = view["modlog"]
        when = parse_time(row["published_at"])
        if when is None or row["kind"] != _MODLOG[action][0]:
            raise ValueError(f"a modlog row without its published_at, or not {action}")
        moderator = view.get("moderator")
        moderator_id = moderator.get("id") if isinstance(moderator, dict) else None
        return ModlogEntry(
            action,
            revert=bool(row["is_revert"]),
            when=when,
            moderator_id=moderator_id if isinstance(moderator_id, int) else None,
            moderator=person_shown(moderator, "ap_id") if isinstance(moderator, dict) else None,
            expires=parse_time(row.get("expires_at")),
            reason=row.get("reason"),
            bulk=row.get("bulk_action_parent_id") is not None,
        )


class LemmyClientV4(PictrsStore, Transport):
    """One bot account on a Lemmy 1.0 instance (API v4). Synchronous; safe to share
    between threads."""

    API: ClassVar[str] = "/api/v4"
    LOGIN: ClassVar[str] = "/account/auth/login"
    LOGIN_FIELDS: ClassVar[dict[str, Any]] = {"stay_logged_in": True}
    api_version = "v4"
    never_listed: tuple[str, ...] = NEVER_LISTED

    def __init__(
        self,
        url: str,
        username: str,
        password: Secret,
        *,
        pictrs_url: str | None = None,
        pictrs_api_key: Secret | None = None,
        report_to_admins: bool = False,
        **transport: Any,
    ) -> None:
        super().__init__(url, username, password, **transport)
        self.pictrs = (
            Pictrs(self, pictrs_url, pictrs_api_key) if pictrs_url and pictrs_api_key else None
        )
        # reports with violates_instance_rules: seen by the admins at once, not by mods
        self.report_to_admins = report_to_admins
        self._pages_lock = threading.Lock()
        # by listing: (post_id, as_moderator)
        self._comment_cursors: dict[tuple[int | None, bool], dict[int, str | None]] = {}
        self._sent_starts: dict[int, str | None] = {}  # ``sent_messages``: where each page starts
        self._media: list[Item] | None = None  # the last walk of the media list
        self._media_cut = False  # that walk left older uploads out (``MEDIA_KEPT``)
        # The site's custom emojis read last, and whether reading them fails (warned once)
        self._emojis: frozenset[str] = frozenset()
        self._emojis_failed = False
        self.messages_off = False  # until ``site_info`` reads the account
        # What an earlier process of a sweep resumed here recorded (``restore_listing_cuts``):
        # 1.0's listings record none, but a sweep begun on 0.19 still missed it
        self._cut: dict[str, str] = {}

    # ================================================================== LemmyApi
    def check_session(self) -> SiteInfo:
        """The site and the bot's account; a dropped or expired token is noticed by
        ``validate_auth`` (400 ``not_logged_in``) and ``GET /account`` (401), and the
        client logs in again."""
        sent_with = self._token  # another thread may log in again meanwhile: not twice
        try:
            self.validate_auth()
        except LemmyError as exc:
            if exc.error != "not_logged_in":
                raise
            self.login(dropped=sent_with, why="Lemmy says the login is gone (not_logged_in)")
        return self.site_info()

    def site_info(self) -> SiteInfo:
        """``/site``, ``/account`` and the site's custom emojis (1.0 lists them at
        ``GET /custom_emoji/list``, no longer in ``/site``). The emojis only spare the
        site's own emoji images from being judged: a list that cannot be read (an error,
        a proxy's page, malformed JSON) is a warning, said once, not a failed session;
        the emojis are then the ones read last (none before a first read)."""
        account = self.account()
        site = views_v4.site_info(self.site(), account)
        self.messages_off = views_v4.messages_off(account)
        return dataclasses.replace(site, custom_emoji_urls=self._site_emojis())

    def not_reached(self) -> list[str]:
        # cursor listings without a page limit (a walk says its own stops: a loop)
        return [*self.never_listed, *self._cut.values()]

    def listing_cuts(self) -> dict[str, str]:
        return dict(self._cut)

    def restore_listing_cuts(self, cuts: Mapping[str, str]) -> None:
        self._cut = dict(cuts)

    def admin_ids(self) -> frozenset[int]:
        """``GET /site`` alone: one request where ``site_info`` sends three."""
        return views_v4.admin_ids(self.site())

    def _site_emojis(self) -> frozenset[str]:
        try:
            urls = self.custom_emoji_urls()
        except LemmyLoginError:
            raise
        except LemmyError as exc:
            if not self._emojis_failed:
                self._emojis_failed = True
                log.warning(
                    "cannot read the site's custom emojis (%s); %s; said once",
                    exc,
                    f"keeping the {len(self._emojis)} read before"
                    if self._emojis
                    else "images of the site's emojis in posts and comments are judged "
                    "like any image until the list can be read",
                )
            return self._emojis
        if self._emojis_failed:
            log.info("the site's custom emojis can be read again (%d)", len(urls))
        self._emojis, self._emojis_failed = urls, False
        return urls

    def posts(
        self,
        cursor: str | None,
        *,
        resume_after: Sequence[int] = (),
        community_id: int | None = None,
    ) -> Page[Item]:
        views, next_cursor = self._list_posts_after(cursor, resume_after, community_id)
        return Page([views_v4.post_item(v) for v in views], len(views), next_cursor)

    def comments(
        self, page: int, *, post_id: int | None = None, as_moderator: bool = False
    ) -> Page[Item]:
        """``next``: the next page's number while Lemmy hands out a cursor (1.0 has no
        page limit). ``as_moderator``: ``type_=moderator_view``."""
        views, more = self._comment_page(page, post_id, as_moderator)
        return Page(
            [views_v4.comment_item(v) for v in views],
            len(views),
            next=str(page + 1) if more else None,
        )

    def uploads(self, page: int) -> Page[Item]:
        """Page ``page`` (from 1) of every upload, newest first. 1.0's media list has no
        order, so page 1 walks the whole list (and later pages hand out that walk).
        ``next``: the next page's number, but for the last page of a walk that left older
        uploads out (it keeps the newest ``MEDIA_KEPT``): the poll says so."""
        with self._pages_lock:
            if page <= 1 or self._media is None:
                self._media = self._walk_media()
            items = self._media[(page - 1) * PAGE : page * PAGE]
            more = len(self._media) > page * PAGE or not self._media_cut
        return Page(items, len(items), next=str(page + 1) if more else None)

    uploads_newest_first = False  # 1.0's media list has no order (``get_all_paged``)

    def upload_pages(self, cursor: str | None) -> Page[Item]:
        """Every upload, a page at a time in the list's own order (its cursor). A cursor
        whose upload is gone since (purged: 404) ends the walk, said: the list has no
        order to resume from elsewhere."""
        read = _unless_cursor_gone(
            lambda: self.list_media(page_cursor=cursor), cursor, "uploads", "image", "media"
        )
        if read is None:
            return Page([], 0)
        views, next_cursor = read
        return Page([views_v4.upload_item(v) for v in views], len(views), next_cursor)

    def communities(self, cursor: str | None) -> Page[Community]:
        """A cursor whose community is gone since (purged: 404) ends the walk, said: a
        sweep keeps its cursor, and would fail on it at every sweep after."""
        read = _unless_cursor_gone(
            lambda: self.list_communities(page_cursor=cursor),
            cursor,
            "communities",
            "community",
            "community",
        )
        if read is None:
            return Page([], 0)
        views, next_cursor = read
        return Page(views_v4.communities(views), len(views), next_cursor)

    def removed_posts(self, cursor: str | None, *, since: datetime | None = None) -> Page[int]:
        """One page of the ids of the posts moderators removed that ``posts`` does not
        list to this account (the modlog's post removals, a ban's included, newest
        first; one restored since is named too: reading it says). 1.0 lists removed
        posts to admins, so an admin's first page is empty; to a moderator it hides
        them, while their comments and the post read by id stay visible. ``next`` None
        at the list's end or at a removal before ``since``. A row Lemmy sent malformed
        is left out (and counted in ``Page.sent``)."""
        if cursor is None:
            with malformed_answer("account"):
                if self.account()["local_user_view"]["local_user"]["admin"] is True:
                    return Page([], 0)
        # show_bulk: a ban's removal of each of the person's posts is a row of its own
        params: dict[str, Any] = {"type_": "mod_remove_post", "show_bulk": "true", "limit": PAGE}
        if cursor:
            params["page_cursor"] = cursor
        views, next_cursor = _paged(self.api("GET", "/modlog", params=params), "modlog")
        ids: list[int] = []
        for view in views:
            view = view if isinstance(view, dict) else {}
            row, post = view.get("modlog"), view.get("target_post")
            if not isinstance(row, dict):
                row = {}
            stamp = row.get("published_at")
            when = parse_time(stamp) if isinstance(stamp, str) else None
            post_id = post.get("id") if isinstance(post, dict) else None
            if when is None or not isinstance(post_id, int) or isinstance(post_id, bool):
                # a purged post's row has no target_post: nothing left to read
                log.info("modlog: a post removal without its post or published_at; left out")
                continue
            if since is not None and when < since:
                next_cursor = None  # newest first: every row after it is older still
                break
            if row.get("is_revert") is False:  # a removal, not a restore
                ids.append(post_id)
        return Page(ids, len(views), next_cursor)

    def banned_people(self, cursor: str | None, *, since: datetime | None = None) -> Page[int]:
        # 1.0's ban with remove_or_restore_data writes a modlog row per post it removes
        # (``removed_posts`` reads them, show_bulk), and lists removed posts to admins
        return Page([], 0)

    def removed_posts_of(self, person_id: int, page: int) -> Page[Item]:
        return Page([], 0)  # never asked: ``banned_people`` names no one

    def post(self, post_id: int) -> Item:
        return views_v4.post_item(self.get_post(post_id))

    def comment(self, comment_id: int) -> Item:
        return views_v4.comment_item(self.get_comment(comment_id))

    def person(self, person_id: int) -> Person:
        """The person with their ban on this instance. 1.0's ``PersonView.banned`` is
        also true for a ban on the person's home instance (``creator_local_home_banned``),
        with either ban's end: for a remote person the modlog says which is this one's."""
        view = self.get_person(person_id)
        with malformed_answer(f"person {person_id}"):
            found = views_v4.person_view(view)
        if not found.banned or found.local is not False:
            return found  # a local person's home is this instance
        return self._banned_here(found)

    def _banned_here(self, found: Person) -> Person:
        """``found`` (remote, shown banned) with the ban of this instance's admins: the
        newest ``admin_ban`` line of theirs. A federated ban by the home instance is a
        line whose moderator is remote (``ModlogInsertForm::admin_ban``). A line with
        the moderator hidden cannot be told apart: the view is believed."""
        params: dict[str, Any] = {"type_": "admin_ban", "other_person_id": found.id}
        params["limit"] = PAGE
        for _ in range(MODLOG_PAGES):
            views, cursor = _paged(self.api("GET", "/modlog", params=params), "modlog")
            for view in views:
                entry = _modlog_entry("ban", view)
                moderator = view.get("moderator")
                local = moderator.get("local") if isinstance(moderator, dict) else None
                if local is None:
                    return found
                if local is not True:
                    continue  # the home instance's ban (or its lifting)
                ended = entry.expires is not None and entry.expires <= datetime.now(UTC)
                if entry.revert or ended:
                    return dataclasses.replace(found, banned=False, ban_expires=None)
                return dataclasses.replace(found, ban_expires=entry.expires)
            if cursor is None:
                break
            params["page_cursor"] = cursor
        log.info("person %d is banned on their home instance only, not here", found.id)
        return dataclasses.replace(found, banned=False, ban_expires=None)

    def moderates(self, person_id: int) -> frozenset[int]:
        try:
            person = self.api("GET", "/person", params={"person_id": person_id})
        except LemmyError as exc:
            # a deleted account, hidden from a bot that is no admin: it moderates nothing
            if exc.error in ("couldnt_find_person", "not_found"):
                return frozenset()
            raise
        with malformed_answer("person"):
            return moderated_ids(person["moderates"])

    def communities_led(self, person_id: int) -> LedCommunities:
        person = self.api("GET", "/person", params={"person_id": person_id})
        with malformed_answer("person"):
            moderates = person["moderates"]

        def moderators_of(community_id: int) -> object:
            answer = self.api("GET", "/community", params={"id": community_id})
            with malformed_answer("community"):
                return answer["moderators"]

        return communities_led(person_id, moderates, moderators_of, views_v4.community_of)

    def own_person_id(self) -> int:
        # GET /account only: the bot's person is there (/site may be hidden by a proxy)
        with malformed_answer("account"):
            person_id = self.account()["local_user_view"]["person"]["id"]
            if not isinstance(person_id, int) or isinstance(person_id, bool):
                raise ValueError("the account's person has no id")
            return person_id

    def last_mod_action(
        self, action: str, target_id: int, *, community_id: int | None = None
    ) -> ModlogEntry | None:
        kind, target = _MODLOG[action]
        # show_bulk: a ban's removal of each post and comment of the person is a line of
        # its own, hidden by default ("bulk"), and may be the newest on the item
        params: dict[str, Any] = {"type_": kind, target: target_id, "limit": 1}
        params["show_bulk"] = "true"
        if community_id is not None:
            params["community_id"] = community_id
        views, _ = _paged(self.api("GET", "/modlog", params=params), "modlog")
        return _modlog_entry(action, views[0]) if views else None  # newest first

    def mod_actions_since(
        self,
        action: str,
        target_id: int,
        since: datetime | None,
        *,
        community_id: int | None = None,
    ) -> list[ModlogEntry]:
        kind, target = _MODLOG[action]
        # show_bulk: as last_mod_action's, a ban's line on each post and comment too
        params: dict[str, Any] = {"type_": kind, target: target_id, "limit": PAGE}
        params["show_bulk"] = "true"
        if community_id is not None:
            params["community_id"] = community_id
        found: list[ModlogEntry] = []
        for _ in range(MODLOG_PAGES):
            views, cursor = _paged(self.api("GET", "/modlog", params=params), "modlog")
            for view in views:
                entry = _modlog_entry(action, view)
                if since is not None and entry.when <= since:
                    return found  # newest first: the rest are older still
                found.append(entry)
            if cursor is None:
                return found
            params["page_cursor"] = cursor
        raise modlog_too_long(action, target_id, since)

    def reporters(self, kind: str, item_id: int) -> list[int]:
        found = []
        for view in self.reports_of(kind, item_id):  # the item's own, each an object
            creator = view[f"{kind}_report"].get("creator_id")
            if isinstance(creator, int) and not isinstance(creator, bool):
                found.append(creator)
        return found

    def sent_messages(self, creator_id: int, page: int) -> list[Message]:
        """Page ``page`` (from 1) of the messages the bot (``creator_id``) sent, newest
        first: 1.0 lists them among its private-message notifications, with those sent
        to it (NotificationQuery::list, "show messages FROM you also"). A page is the
        run of the list's pages that holds ``PAGE`` of the bot's own (fewer: the list
        ended), so a short page still means the last. ``LemmyError`` when that cannot
        be told: another account's (1.0 lists the reader's own only), a bot account
        that hides bot accounts (Lemmy then hides its own messages from it: an empty
        list would read as "never sent"), or over ``SENT_PAGES`` pages of messages to
        the bot before ``PAGE`` of its own."""
        with self._pages_lock:
            if page <= 1 or not self._sent_starts:
                self._own_messages_listed(creator_id)
                self._sent_starts = {1: None}
            number = max(n for n in self._sent_starts if n <= page)
            while True:
                start = self._sent_starts[number]
                if number > 1 and start is None:
                    return []  # the list ended before this page
                found, self._sent_starts[number + 1] = self._sent_run(creator_id, start)
                if number >= page:
                    return found
                number += 1

    def _own_messages_listed(self, creator_id: int) -> None:
        """Raise unless the notification list shows ``creator_id``'s sent messages."""
        with malformed_answer("account"):
            view = self.account()["local_user_view"]
            person, local_user = view["person"], view["local_user"]
            me, bot, shows_bots = (
                person["id"],
                person.get("bot_account") is True,
                local_user.get("show_bot_accounts") is True,
            )
        if me != creator_id:
            raise LemmyError(
                f"Lemmy 1.0 lists only the bot's own sent messages, not person {creator_id}'s"
            )
        if bot and not shows_bots:
            raise LemmyError(
                "the bot account hides bot accounts (show_bot_accounts off), so Lemmy 1.0 "
                "hides its own sent messages from it; `modbot run` turns the setting on"
            )

    def _sent_run(self, creator_id: int, cursor: str | None) -> tuple[list[Message], str | None]:
        """From ``cursor``, the list's pages until ``PAGE`` of ``creator_id``'s messages
        (or its end): (those messages, the cursor after them)."""
        params: dict[str, Any] = {"type_": "private_message", "limit": PAGE}
        found: list[Message] = []
        for _ in range(SENT_PAGES):
            if cursor:
                params["page_cursor"] = cursor
            answer = self.api("GET", "/account/notification/list", params=params)
            views, cursor = _paged(answer, "account/notification/list")
            with malformed_answer("account/notification/list"):
                found += [
                    m for v in views if (m := views_v4.sent_message(v, creator_id)) is not None
                ]
            if len(found) >= PAGE or cursor is None:
                return found, cursor
        raise LemmyError(
            f"cannot read the bot's sent private messages: over {SENT_PAGES * PAGE} "
            f"messages to it came between {PAGE} of its own"
        )

    def image_gone(self, alias: str) -> bool:
        """Whether pict-rs no longer has ``alias``: its internal API when configured, else
        the instance's image route (only the status is read, never the image)."""
        if self.pictrs is not None:
            return self.pictrs.alias_gone(alias)
        return gone(self, f"{self.url}{views_v4.IMAGE_PATH}{alias}", alias)

    def local_image_url(self, alias: str) -> str:
        """Where to fetch a local upload (whatever URL the content wrote: 0.19's
        ``/pictrs/image/`` links have no route on 1.0); a still for a video."""
        url = f"{self.url}{views_v4.IMAGE_PATH}{alias}"
        if extension(alias) in VIDEO_EXTENSIONS:
            url += f"?{VIDEO_STILL_QUERY_V4}"
        return url

    # ================================================================== paging
    def _list_posts_after(
        self, cursor: str | None, page_ids: Sequence[int], community_id: int | None = None
    ) -> tuple[list[Any], str | None]:
        """One page after ``cursor``; if the post it names is gone (purged: 404), after
        an earlier post of the page before, as ``next_page`` would name it."""
        try:
            return self.list_posts(page_cursor=cursor, community_id=community_id)
        except LemmyError as exc:
            if cursor is None or not _gone(exc):
                raise
        for post_id in reversed(page_ids):
            fallback = post_cursor(post_id)
            if fallback == cursor:
                continue
            try:
                views, next_cursor = self.list_posts(
                    page_cursor=fallback, community_id=community_id
                )
            except LemmyError as exc:
                if not _gone(exc):
                    raise
                continue
            log.info(
                "posts: the page cursor's post is gone (purged); resumed after post %d", post_id
            )
            return views, next_cursor
        log.warning(
            "posts: the page cursor's post and its page are gone; reading from the "
            "newest post again (items already seen are skipped)"
        )
        return self.list_posts(page_cursor=None, community_id=community_id)

    def _comment_page(
        self, page: int, post_id: int | None, as_moderator: bool = False
    ) -> tuple[list[Any], bool]:
        """Page ``page`` (from 1) of comments, newest first, by the cursor the page before
        handed out (the pages before are read first when it is not known; from page 1
        again when its comment is gone), and whether a page follows."""
        listing = (post_id, as_moderator)
        with self._pages_lock:
            if page <= 1:
                # the cursors of one post's comments at a time (a walk reads them post by
                # post), beside every comment's (a poll's): kept for each post read, they
                # grew with the instance for as long as the client lived
                every = {k: v for k, v in self._comment_cursors.items() if k[0] is None}
                self._comment_cursors = {**every, listing: {1: None}}
            cursors = self._comment_cursors.setdefault(listing, {1: None})
            number = max(n for n in cursors if n <= page)
            restarted = False
            while True:
                if number > 1 and cursors[number] is None:
                    return [], False  # the listing ended before this page
                try:
                    views, cursors[number + 1] = self.list_comments(
                        page_cursor=cursors[number], post_id=post_id, as_moderator=as_moderator
                    )
                except LemmyError as exc:
                    if number == 1 or restarted or not _gone(exc):
                        raise
                    restarted = True
                    log.warning("comments: the page cursor's comment is gone; from page 1 again")
                    cursors.clear()
                    cursors[1] = None
                    number = 1
                    continue
                if number >= page:
                    return views, cursors[number + 1] is not None
                number += 1

    def _walk_media(self) -> list[Item]:
        """The newest ``MEDIA_KEPT`` rows of the admin media list, newest first (malformed
        rows last), for a poll. Every page is read (the list has no order), but only the
        rows a reader of ``uploads`` can reach (``MAX_PAGE`` pages) are kept: memory
        stays ~1 MB per 1,000 kept, however many uploads the instance holds. A sweep
        reads every upload through ``upload_pages`` instead."""
        kept: list[tuple[tuple[bool, float], int, Item]] = []  # a min-heap: oldest first
        keys: set[str] = set()
        pages: set[int] = set()  # each page's rows, hashed: a page seen again ends the walk
        cursor: str | None = None
        cursors: set[str] = set()
        order = 0
        for _ in range(MAX_MEDIA_PAGES):
            try:
                views, cursor = self.list_media(page_cursor=cursor)
            except LemmyError as exc:
                if cursor is None or not _gone(exc):
                    raise
                log.warning("uploads: the page cursor's image is gone; the walk stops here")
                break
            found = [views_v4.upload_item(view) for view in views]
            signature = hash(tuple(sorted(i.key for i in found)))
            if found and signature in pages:
                log.warning("uploads: Lemmy's media list repeats a page; the walk stops")
                break
            pages.add(signature)
            for item in found:
                if item.key in keys:
                    continue
                rank = (
                    item.published is not None,
                    item.published.timestamp() if item.published else 0.0,
                )
                order += 1
                if len(kept) < MEDIA_KEPT:
                    heapq.heappush(kept, (rank, -order, item))
                    keys.add(item.key)
                elif rank > kept[0][0]:
                    _, _, dropped = heapq.heapreplace(kept, (rank, -order, item))
                    keys.discard(dropped.key)
                    keys.add(item.key)
            if not cursor or cursor in cursors:
                break
            cursors.add(cursor)
        else:
            log.warning("uploads: stopped after %d pages of the media list", MAX_MEDIA_PAGES)
        self._media_cut = order > len(kept)
        return [item for _, _, item in sorted(kept, key=lambda e: (e[0], e[1]), reverse=True)]

    # ================================================================== v4 endpoints (JSON)
    def site(self) -> dict[str, Any]:
        return self.api("GET", "/site")

    def account(self) -> dict[str, Any]:
        """``MyUserInfo`` of the bot's account (401 for a dropped token: logs in again)."""
        return self.api("GET", "/account")

    def validate_auth(self) -> dict[str, Any]:
        return self.api("GET", "/account/validate_auth")

    def custom_emoji_urls(self) -> frozenset[str]:
        """The image URLs of the site's custom emojis (``GET /custom_emoji/list``: all of
        them, no paging). An entry without its image URL is skipped; an answer without
        the list is a ``LemmyBadAnswer``."""
        answer = self.api("GET", "/custom_emoji/list")
        views = answer.get("custom_emojis")
        if not isinstance(views, list):
            raise LemmyBadAnswer(
                f"custom_emoji/list: Lemmy's answer has no list 'custom_emojis' (got "
                f"{kind_of(views)}); is LEMMY_URL a Lemmy 1.0 API, not a proxy or another site?",
                error="bad_answer",
            )
        urls = set()
        for view in views:
            emoji = view.get("custom_emoji") if isinstance(view, dict) else None
            url = emoji.get("image_url") if isinstance(emoji, dict) else None
            if isinstance(url, str) and url:
                urls.add(url)
        return frozenset(urls)

    def list_posts(
        self, *, page_cursor: str | None = None, community_id: int | None = None
    ) -> tuple[list[Any], str | None]:
        """One page of ``post/list`` (every post, or one community's, newest first):
        (posts, next_page). In a community Lemmy lists every post whatever ``type_``
        (``listing_type_with_default``), an unlisted community's too."""
        params: dict[str, Any] = {**POST_LIST, "limit": PAGE}
        if community_id is not None:
            params["community_id"] = community_id
        if page_cursor:
            params["page_cursor"] = page_cursor
        return _paged(self.api("GET", "/post/list", params=params), "post/list")

    def list_communities(self, *, page_cursor: str | None = None) -> tuple[list[Any], str | None]:
        """One page of ``community/list`` (every community, local and federated, nsfw
        too, newest first): (communities, next_page)."""
        params: dict[str, Any] = {**COMMUNITY_LIST, "limit": PAGE}
        if page_cursor:
            params["page_cursor"] = page_cursor
        return _paged(self.api("GET", "/community/list", params=params), "community/list")

    def list_comments(
        self,
        *,
        page_cursor: str | None = None,
        post_id: int | None = None,
        as_moderator: bool = False,
    ) -> tuple[list[Any], str | None]:
        """One page of ``comment/list`` (every comment or one post's, newest first).
        ``as_moderator``: ``moderator_view``, the communities this account moderates,
        whose comments Lemmy lists unlisted or not (``all`` leaves out an unlisted
        community's, even in its own listing: a ``community_id`` forces ``all``)."""
        params: dict[str, Any] = {**COMMENT_LIST, "limit": PAGE}
        if as_moderator:
            params["type_"] = "moderator_view"
        if post_id is not None:
            params["post_id"] = post_id
        if page_cursor:
            params["page_cursor"] = page_cursor
        return _paged(self.api("GET", "/comment/list", params=params), "comment/list")

    def list_media(self, *, page_cursor: str | None = None) -> tuple[list[Any], str | None]:
        """One page of ``image/list``: every upload and stored thumbnail (admin only)."""
        params: dict[str, Any] = {"limit": PAGE}
        if page_cursor:
            params["page_cursor"] = page_cursor
        return _paged(self.api("GET", "/image/list", params=params), "image/list")

    def get_post(self, post_id: int) -> Any:
        """One post's ``PostView`` (admins and the community's moderators see removed
        ones); it is checked where it becomes an item (``views_v4``).

        1.0's ``GET /post`` marks the post read for a logged-in reader and stores its
        comment count for it (``api_crud/src/post/read.rs``), as 0.19's does; a
        visitor's read marks nothing, and the view does not depend on who reads it. So
        a post is read without the login first; only one a visitor is not shown (404
        ``not_found``: removed, deleted, in a removed, private or local-only private
        community, or every post of a private instance: ``instance_is_private``,
        remembered) is read logged in, and Lemmy marks that one read, a dry run too
        (said once in the log)."""
        return self.read_visitor_first(
            "/post",
            {"id": post_id},
            hidden=_gone,
            dry_run_note=(
                "dry run: a post Lemmy 1.0 shows only to a logged-in reader (removed or "
                "deleted, in a private community, or any on a private instance) is read "
                "logged in, and Lemmy marks it read for the bot's account (GET /post); "
                "nothing else is changed"
            ),
        ).get("post_view")

    def get_comment(self, comment_id: int) -> Any:
        """One comment's ``CommentView`` (a view without its fields is checked where it
        becomes an item)."""
        answer = self.api("GET", "/comment", params={"id": comment_id})
        return read_view(answer, "comment_view", f"comment/{comment_id}")

    def get_person(self, person_id: int) -> dict[str, Any]:
        """A ``PersonView`` (``banned``, ``ban_expires_at``)."""
        return read_person_view(
            self.api("GET", "/person", params={"person_id": person_id}), person_id
        )

    def reports_of(self, kind: str, item_id: int) -> list[dict[str, Any]]:
        """The bot's own reports on one post or comment (``kind``), resolved or not.
        ``report/list`` has no comment filter, but its ``post_id`` lists that post's
        comment reports too (ReportCombinedQuery, crates/db_views/report_combined at
        1.0.0-beta.1): a comment's reports are looked for among its post's, not among
        every comment the bot reported. ``LemmyError`` past ``REPORT_PAGES`` pages:
        the report not found there may be further on."""
        post_id = item_id if kind == "post" else self._post_of_comment(item_id)
        params: dict[str, Any] = {
            "type_": f"{kind}s",
            "post_id": post_id,
            "unresolved_only": "false",
            "my_reports_only": "true",
            "show_community_rule_violations": "true",
            "limit": PAGE,
        }
        found: list[dict[str, Any]] = []
        for _ in range(REPORT_PAGES):
            views, cursor = _paged(self.api("GET", "/report/list", params=params), "report/list")
            # a malformed row (a null, a report that is not an object) is left out, as
            # 0.19's client does
            found += [
                v
                for v in views
                if isinstance(v, dict)
                and isinstance(v.get(f"{kind}_report"), dict)
                and v[f"{kind}_report"].get(f"{kind}_id") == item_id
            ]
            if not cursor:
                return found
            params["page_cursor"] = cursor
        raise LemmyError(
            f"cannot tell whether the bot reported {kind} {item_id}: over "
            f"{REPORT_PAGES * PAGE} of its reports on post {post_id}"
        )

    def _post_of_comment(self, comment_id: int) -> int:
        """The id of the post ``comment_id`` is on."""
        view = self.get_comment(comment_id)
        with malformed_answer(f"comment/{comment_id}"):
            post_id = view["comment"]["post_id"]
            if not isinstance(post_id, int) or isinstance(post_id, bool):
                raise ValueError("the comment has no post id")
            return post_id

    # ================================================================== actions
    def _act(
        self, what: str, method: str, path: str, body: dict[str, Any], *, key: str | None = None
    ) -> dict[str, Any]:
        """One mutating call, with retries, rate cap and re-login. One Idempotency-Key for
        its attempts (``key``, else a new one): a retry of a call Lemmy carried out
        answers 422 (done). Lemmy keeps a key *before* its rate limiter and handler run
        and keeps it whatever they answer (routes/src/middleware/idempotency.rs), so a
        key that got an error from Lemmy itself (a 429, a 5xx or 401 with its JSON error
        body: never carried out) is not sent again: its retry would answer 422 for an
        action never done. The next attempt gets a new key. An answer that never came
        from Lemmy (a proxy's 502/504 page, a cut connection, a timeout) keeps the key:
        the action may have run. Only the middleware's 422 (no Lemmy error code) is
        read as done. A caller's key may name its successor (``key.spent()``, which
        the caller records for its own resend after a crash in the backoff)."""
        self.refuse_if_read_only(what)
        self.token()  # log in first
        url = f"{self.url}{self.API}{path}"
        keys = [key or uuid.uuid4().hex]

        def attempt() -> dict[str, Any]:
            try:
                return self.send(
                    method, url, auth=True, json=body, headers={"Idempotency-Key": keys[-1]}
                )
            except (Transient, LoggedOut) as exc:
                if exc.code is not None:  # Lemmy itself answered its error: not carried out
                    keys.append(_next_key(keys[-1]))
                raise

        try:
            return self.retrying(what, attempt, auth=True)
        except LemmyError as exc:
            if exc.status == 422 and exc.error is None:
                log.info("%s: Lemmy had carried it out already (idempotency key)", what)
                return {}
            raise

    def remove_post(self, post_id: int, reason: str) -> Any:
        body = {"post_id": post_id, "removed": True, "reason": reason}
        return self._act("remove post", "POST", "/post/remove", body)

    def remove_comment(self, comment_id: int, reason: str) -> Any:
        body = {"comment_id": comment_id, "removed": True, "reason": reason}
        return self._act("remove comment", "POST", "/comment/remove", body)

    # --- undoing (``modbot undo``): the same routes with the flag cleared
    def restore_post(self, post_id: int, reason: str) -> Any:
        body = {"post_id": post_id, "removed": False, "reason": reason}
        return self._act("restore post", "POST", "/post/remove", body)

    def restore_comment(self, comment_id: int, reason: str) -> Any:
        body = {"comment_id": comment_id, "removed": False, "reason": reason}
        return self._act("restore comment", "POST", "/comment/remove", body)

    def unban_site(self, person_id: int, reason: str, *, restore_data: bool) -> Any:
        body = {
            "person_id": person_id,
            "ban": False,
            "reason": reason,
            "remove_or_restore_data": restore_data,
        }
        return self._act("unban from site", "POST", "/admin/ban", body)

    def unban_community(
        self, person_id: int, community_id: int, reason: str, *, restore_data: bool
    ) -> Any:
        body = {
            "community_id": community_id,
            "person_id": person_id,
            "ban": False,
            "reason": reason,
            "remove_or_restore_data": restore_data,
        }
        return self._act("unban from community", "POST", "/community/ban_user", body)

    def purge_post(self, post_id: int, reason: str) -> Any:
        body = {"post_id": post_id, "reason": reason}
        return self._act("purge post", "POST", "/admin/purge/post", body)

    def purge_comment(self, comment_id: int, reason: str) -> Any:
        body = {"comment_id": comment_id, "reason": reason}
        return self._act("purge comment", "POST", "/admin/purge/comment", body)

    def ban_site(
        self, person_id: int, reason: str, *, expires: int | None, remove_data: bool
    ) -> Any:
        body: dict[str, Any] = {
            "person_id": person_id,
            "ban": True,
            "reason": reason,
            "remove_or_restore_data": remove_data,
        }
        if expires is not None:
            body["expires_at"] = expires
        return self._act("ban from site", "POST", "/admin/ban", body)

    def ban_community(
        self,
        person_id: int,
        community_id: int,
        reason: str,
        *,
        expires: int | None,
        remove_data: bool,
    ) -> Any:
        body: dict[str, Any] = {
            "community_id": community_id,
            "person_id": person_id,
            "ban": True,
            "reason": reason,
            "remove_or_restore_data": remove_data,
        }
        if expires is not None:
            body["expires_at"] = expires
        return self._act("ban from community", "POST", "/community/ban_user", body)

    def report_post(self, post_id: int, reason: str) -> Any:
        body = {
            "post_id": post_id,
            "reason": reason,
            "violates_instance_rules": self.report_to_admins,
        }
        return self._act("report post", "POST", "/post/report", body)

    def report_comment(self, comment_id: int, reason: str) -> Any:
        body = {
            "comment_id": comment_id,
            "reason": reason,
            "violates_instance_rules": self.report_to_admins,
        }
        return self._act("report comment", "POST", "/comment/report", body)

    def private_message(self, recipient_id: int, content: str, *, key: str | None = None) -> Any:
        body = {"content": content, "recipient_id": int(recipient_id)}
        return self._act("private message", "POST", "/private_message", body, key=key)

    def save_user_settings(self, **settings: Any) -> Any:
        return self._act("save user settings", "PUT", "/account/settings/save", dict(settings))

    def delete_image(self, alias: str, delete_token: str) -> Any:
        """1.0 has no delete tokens, and its only deletion (the admin's ``DELETE
        /image``) purges the file, every alias of it: more than deleting one upload. A
        token kept from 0.19 (a journal entry written before the upgrade) is refused,
        nothing sent."""
        raise LemmyError(
            f"delete upload {alias}: Lemmy 1.0 has no delete tokens (its DELETE /image "
            "purges every alias of the file); set PICTRS_URL and PICTRS_API_KEY to delete "
            "this alias only"
        )


def _next_key(key: str) -> str:
    """The key of the attempt after Lemmy answered an error under ``key`` (which it keeps
    for minutes: never sent again): the caller's successor when the key names one (see
    ``modbot.actions.notices``), else a new random one."""
    spent = getattr(key, "spent", None)
    if callable(spent):
        nxt = spent()
        if isinstance(nxt, str):
            return nxt
    return uuid.uuid4().hex
