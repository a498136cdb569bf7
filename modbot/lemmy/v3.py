"""Lemmy 0.19 (API v3): reads with httpx, actions through pythorhead.

``LemmyClient`` is the v3 implementation of ``LemmyApi``: its typed methods (the
protocol's) hand out records made by ``views_v3``. Underneath are the v3 endpoints as
JSON (``site``, ``list_posts``, ``get_post``...): this package's, and the tests' that
check them against the fake Lemmy; nothing outside ``modbot.lemmy`` calls them.
pythorhead sends its requests through this client's transport (pythorhead itself uses
``requests``, whose timeout is per read, and reads nodeinfo in its constructor).

Long because Lemmy 0.19's API is wide (listings, actions, reports, messages, the media
list, undo); each method is a few lines on the shared transport.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any, ClassVar, Literal

from modbot.config.settings import Secret
from modbot.errors import LemmyBadAnswer, LemmyError, LemmyLoginError, LemmyUnavailable
from modbot.lemmy import views_v3
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
from modbot.lemmy.transport import Transport, kind_of
from modbot.lemmy.viewcheck import malformed_answer, person_shown, read_person_view, read_view
from modbot.model import (
    HIDDEN_COMMUNITY,
    Community,
    Item,
    Message,
    Page,
    Person,
    SiteInfo,
    parse_time,
)

__all__ = ["LemmyClient"]

log = logging.getLogger(__name__)

# 1.0's visibility of a community listed in its own listing only, which the Source reads
# (``source.UNLISTED``): what a hidden community the bot moderates is here (``posts``)
UNLISTED = "unlisted"


def _view_post_ids(views: list[Any]) -> list[int]:
    """The post ids of a ``post/list`` page's views, in its order (a malformed one left
    out: the page is resumed after the others)."""
    ids = []
    for view in views:
        own = view.get("post") if isinstance(view, dict) else None
        post_id = own.get("id") if isinstance(own, dict) else None
        if type(post_id) is int and post_id > 0:
            ids.append(post_id)
    return ids


def _listing(body: dict[str, Any], key: str, what: str) -> list[Any]:
    """``body[key]``, which Lemmy always sends as a list (of objects, checked later)."""
    value = body.get(key)
    if not isinstance(value, list):
        raise LemmyBadAnswer(
            f"{what}: Lemmy's answer has no list {key!r} (got {kind_of(value)}); is "
            "LEMMY_URL the Lemmy API, not a proxy or another site?",
            error="bad_answer",
        )
    return value


def _cursor_gone(exc: LemmyError) -> bool:
    """Whether Lemmy refused a page cursor because the post it names is gone."""
    return exc.error == "couldnt_find_post" or (
        exc.error == "unknown" and "pagination token" in str(exc)
    )


# A modlog action: its ModlogActionType, the GetModlogResponse list, the row's key in a
# view, the row's flag that is false for a revert, and the filter naming the target.
_MODLOG = {
    "remove_post": ("ModRemovePost", "removed_posts", "mod_remove_post", "removed", "post_id"),
    "remove_comment": (
        "ModRemoveComment",
        "removed_comments",
        "mod_remove_comment",
        "removed",
        "comment_id",
    ),
    "ban": ("ModBan", "banned", "mod_ban", "banned", "other_person_id"),
    "community_ban": (
        "ModBanFromCommunity",
        "banned_from_community",
        "mod_ban_from_community",
        "banned",
        "other_person_id",
    ),
}


def _modlog_entry(action: str, view: Any) -> ModlogEntry:
    """One row of a 0.19 modlog list (``ModRemovePostView``...); its ``mod_person_id`` is
    there even when the site hides who acted (then ``moderator`` is left out)."""
    _, _, key, flag, _ = _MODLOG[action]
    with malformed_answer("modlog"):
        row = view[key]
        when = parse_time(row["when_"])
        moderator_id = row["mod_person_id"]
        if when is None or not isinstance(moderator_id, int) or isinstance(moderator_id, bool):
            raise ValueError(f"{key} without its when_ or mod_person_id")
        moderator = view.get("moderator")
        return ModlogEntry(
            action,
            revert=not row[flag],
            when=when,
            moderator_id=moderator_id,
            moderator=person_shown(moderator, "actor_id") if isinstance(moderator, dict) else None,
            expires=parse_time(row.get("expires")),
            reason=row.get("reason"),
        )


def _pythorhead_on(client: LemmyClient) -> Any:
    """pythorhead's action API with its requests sent by ``client``.

    pythorhead's API classes only build the request and call ``Requestor.api``; this
    requestor sends that through the client's transport: the same deadline, errors,
    token and User-Agent as every other request.
    """
    from pythorhead.comment import Comment
    from pythorhead.community import Community
    from pythorhead.post import Post
    from pythorhead.private_message import PrivateMessage
    from pythorhead.requestor import Requestor
    from pythorhead.user import User

    class Transport(Requestor):
        def __init__(self) -> None:
            super().__init__(raise_exceptions=True, request_timeout=client.timeout)
            self.domain = client.url
            self._auth.set_api_base_url(client.url)

        @property
        def nodeinfo(self) -> dict[str, Any]:
            return client.nodeinfo()

        def api(self, method: Any, endpoint: str, **kwargs: Any) -> Any:
            return client.send(
                method.value, f"{client.url}{client.API}{endpoint}", auth=True, **kwargs
            )

    requestor = Transport()
    return SimpleNamespace(
        post=Post(requestor),
        comment=Comment(requestor),
        user=User(requestor),
        community=Community(requestor),
        private_message=PrivateMessage(requestor),
    )


# How long a nodeinfo that could not be read is not asked again (``release``).
NODEINFO_AGAIN_S = 600.0
# How long the release read from nodeinfo stands before it is read again.
RELEASE_AGAIN_S = 3600.0


class LemmyClient(PictrsStore, Transport):
    """One bot account on a Lemmy 0.19 instance (API v3). Synchronous; safe to share
    between threads."""

    API: ClassVar[str] = "/api/v3"
    LOGIN: ClassVar[str] = "/user/login"
    api_version = "v3"
    never_listed: tuple[str, ...] = NEVER_LISTED
    messages_off = False  # 0.19 has no private_messages_enabled setting

    def __init__(
        self,
        url: str,
        username: str,
        password: Secret,
        *,
        pictrs_url: str | None = None,
        pictrs_api_key: Secret | None = None,
        **transport: Any,
    ) -> None:
        super().__init__(url, username, password, **transport)
        self.pictrs = (
            Pictrs(self, pictrs_url, pictrs_api_key) if pictrs_url and pictrs_api_key else None
        )
        self._ph: Any = None  # pythorhead's API objects, built on the first action
        self._nodeinfo: dict[str, Any] | None = None
        # What listings read could not reach (``not_reached``), by listing: one line each
        self._cut: dict[str, str] = {}
        # The account's show_nsfw as last read or saved (None: not read yet): GET /user
        # follows it, with no query parameter to override it (0.19.20 read_person.rs)
        self._show_nsfw: bool | None = None
        self._release: tuple[int, ...] = ()  # () when it cannot be told (yet)
        self._release_until = 0.0  # when the release is read again
        self._moderates: frozenset[int] | None = None  # ``_moderated_hidden``
        # the last ModeratorView page's cursor and every post id on it (``_moderated_posts``)
        self._moderator_page: tuple[str | None, list[int]] = (None, [])

    # ================================================================== LemmyApi
    def check_session(self) -> SiteInfo:
        return self._account_read(views_v3.site_info(self.ensure_session()))

    def site_info(self) -> SiteInfo:
        return self._account_read(views_v3.site_info(self.site()))

    def _account_read(self, site: SiteInfo) -> SiteInfo:
        if site.account is not None:
            self._show_nsfw = site.account.show_nsfw
        return site

    def not_reached(self) -> list[str]:
        return [*self.never_listed, *self._cut.values()]

    def listing_cuts(self) -> dict[str, str]:
        return dict(self._cut)

    def restore_listing_cuts(self, cuts: Mapping[str, str]) -> None:
        self._cut = dict(cuts)

    def admin_ids(self) -> frozenset[int]:
        return views_v3.admin_ids(self.site())

    def last_page(self) -> int:
        """The last page number this Lemmy serves in its page-numbered listings, and
        modbot reads: 0.19.14 refuses any page past 10 (``PAGE_LIMIT_MAX``, LemmyNet/lemmy
        #6252), 0.19.15+ past 100 (``MAX_PAGE``, modbot's own bound on every 0.19). By
        the release (``release``); ``MAX_PAGE`` when it cannot be read."""
        return 10 if self.release() == (0, 19, 14) else MAX_PAGE

    def release(self) -> tuple[int, ...] | None:
        """The Lemmy release by its nodeinfo (``(0, 19, 9)``); None when it cannot be read
        or is not a release number. What some actions take changed within 0.19: the
        callers say both when it is None. Read again every ``RELEASE_AGAIN_S`` (a Lemmy
        upgraded under a running daemon is named by its new release), and a nodeinfo that
        could not be read every ``NODEINFO_AGAIN_S``, not at each page: every request's
        retries would otherwise wait on a nodeinfo a proxy keeps failing. The release
        last read stands meanwhile."""
        now = time.monotonic()
        if now < self._release_until:
            return self._release or None
        try:
            self._nodeinfo = None  # read afresh
            software = self.nodeinfo().get("software")
            version = software.get("version") if isinstance(software, dict) else None
        except LemmyError:
            self._release_until = now + NODEINFO_AGAIN_S
            return self._release or None
        number = str(version or "").split("-", 1)[0].split("+", 1)[0]
        parts = number.split(".")
        self._release = tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else ()
        self._release_until = now + RELEASE_AGAIN_S
        return self._release or None

    def posts(
        self,
        cursor: str | None,
        *,
        resume_after: Sequence[int] = (),
        community_id: int | None = None,
    ) -> Page[Item]:
        if community_id is not None and community_id in self._moderated_hidden():
            return self._moderated_posts(cursor, resume_after, community_id)
        views, next_cursor = self._list_posts_after(cursor, resume_after, community_id)
        return Page([views_v3.post_item(v) for v in views], len(views), next_cursor)

    # A hidden community (an admin's community/hide) the bot moderates: 0.19 lists its
    # posts and comments to its followers only, in every listing type but ModeratorView,
    # which has no hidden filter (post_view.rs, comment_view.rs; community_id forces All).
    # ``communities`` marks it unlisted (``UNLISTED``), as 1.0 lists an unlisted
    # community's posts in one listing only: the reader of those (``Source._walk_unlisted``,
    # the deep poll) asks its posts here, and their comments as its moderator.
    def _moderated_hidden(self) -> frozenset[int]:
        """The hidden communities the bot's account moderates (``my_user.moderates`` of
        ``/site``, each with its community's ``hidden``), read again at each walk of the
        communities (``communities``). A visible one it moderates is not here: its own
        listing has its posts alone, where ModeratorView has every one it moderates."""
        if self._moderates is None:
            my_user = self.site().get("my_user")
            moderates = my_user.get("moderates") if isinstance(my_user, dict) else None
            self._moderates = moderated_ids(
                [
                    view
                    for view in (moderates if isinstance(moderates, list) else [])
                    if isinstance(view, dict)
                    and isinstance(view.get("community"), dict)
                    and view["community"].get("hidden") is True
                ]
            )
        return self._moderates

    def _moderated_posts(
        self, cursor: str | None, resume_after: Sequence[int], community_id: int
    ) -> Page[Item]:
        """One page of ``ModeratorView`` (every community the bot moderates), the posts
        of ``community_id`` kept: ``sent`` and ``next`` are the listing's."""
        # A purged cursor resumes after the page's other posts (``_list_posts_after``):
        # all of them, not only the community's the caller was given (maybe none).
        last_cursor, last_ids = self._moderator_page
        if cursor is not None and cursor == last_cursor:
            resume_after = last_ids
        views, next_cursor = self._list_posts_after(cursor, resume_after, moderator_view=True)
        self._moderator_page = (next_cursor, _view_post_ids(views))
        listed = [views_v3.post_item(v) for v in views]
        posts = [
            dataclasses.replace(
                item, community=dataclasses.replace(item.community, visibility=UNLISTED)
            )
            for item in listed
            if item.community is not None and item.community.id == community_id
        ]
        # where the listing stands in time, whatever community its posts are of: the
        # reader stops at its floor on it, not at the community's posts alone (a page
        # holding none would read on through every community the bot moderates)
        times = [i.published for i in listed if i.published and not i.featured]
        return Page(posts, len(views), next_cursor, oldest=min(times) if times else None)

    def comments(
        self, page: int, *, post_id: int | None = None, as_moderator: bool = False
    ) -> Page[Item]:
        """``next``: the next page's number after a full page, up to the last page
        this release serves (``last_page``): a full last page has none. ``as_moderator``:
        ``type_=ModeratorView`` (the comments of a hidden community the bot moderates)."""
        if page > self.last_page():
            return Page([], 0)
        views = self.list_comments(
            page=page, limit=PAGE, post_id=post_id, as_moderator=as_moderator
        )
        more = len(views) >= PAGE and page < self.last_page()
        return Page(
            [views_v3.comment_item(v) for v in views],
            len(views),
            next=str(page + 1) if more else None,
        )

    def uploads(self, page: int) -> Page[Item]:
        """``next``: the next page's number after a full page, up to the last page this
        release serves (``last_page``): a full last page has none (the poll says so)."""
        if page > self.last_page():
            return Page([], 0)
        views = self.list_all_media(page=page, limit=PAGE)
        more = len(views) >= PAGE and page < self.last_page()
        return Page(
            [views_v3.upload_item(v) for v in views],
            len(views),
            next=str(page + 1) if more else None,
        )

    uploads_newest_first = True  # list_all_media: newest first

    def upload_pages(self, cursor: str | None) -> Page[Item]:
        # 0.19 pages by number: the "cursor" is the next page's
        page = int(cursor) if cursor and cursor.isdigit() else 1
        found = self.uploads(page)
        more = found.sent >= PAGE
        if more and page >= self.last_page():
            self._cut_at("uploads", "uploads older than", found.items, "uploads")
            more = False
        return Page(found.items, found.sent, str(page + 1) if more else None)

    def _cut_at(self, listing: str, what: str, rows: Sequence[Any], named: str) -> None:
        """Say (log, ``not_reached``) that a listing stopped at 0.19's page limit: what
        lies older than the last row it reached (``rows``: items, or datetimes)."""
        times = [r if isinstance(r, datetime) else getattr(r, "published", None) for r in rows]
        oldest = min((t for t in times if t is not None), default=None)
        when = f" {oldest:%Y-%m-%d %H:%M} UTC" if oldest else " the last one reached"
        said = (
            f"{what}{when}: Lemmy 0.19 lists no further than page {self.last_page()} "
            f"({self.last_page() * PAGE} {named})"
        )
        if self._cut.get(listing) != said:
            log.warning("%s", said)
        self._cut[listing] = said

    def communities(self, cursor: str | None) -> Page[Community]:
        # 0.19 pages by number: the "cursor" is the next page's
        page = int(cursor) if cursor and cursor.isdigit() else 1
        views = self.list_communities(page=page, limit=PAGE)
        if page == 1:
            self._moderates = None  # a walk's start: read again
        found = views_v3.communities(views)
        if any(c.visibility == HIDDEN_COMMUNITY for c in found):
            led = self._moderated_hidden()
            found = [
                dataclasses.replace(c, visibility=UNLISTED)
                if c.visibility == HIDDEN_COMMUNITY and c.id in led
                else c
                for c in found
            ]
        more = len(views) >= PAGE
        if more and page >= self.last_page():
            self._cut_at(
                "communities",
                "the icons and banners of the communities made before",
                found,
                "communities: older ones are looked at through their posts only",
            )
            more = False
        return Page(found, len(views), str(page + 1) if more else None)

    def removed_posts(self, cursor: str | None, *, since: datetime | None = None) -> Page[int]:
        """One page of the ids of the posts moderators removed (the modlog's post
        removals, newest first; a post removed twice is named twice, one restored since
        is named too: reading it says). 0.19's ``post/list`` hides a removed post from
        everyone, admins too, while its comments (``comment/list?post_id=``) and the
        post read by id stay visible to admins and the community's moderators.
        ``cursor``: the page number (None: the first); ``next`` None at the list's end,
        at the last page Lemmy serves (``last_page``), or at a removal before ``since``.
        A row Lemmy sent malformed is left out (and counted in ``Page.sent``)."""
        return self._modlog_ids(
            "remove_post",
            "post_id",
            cursor,
            since,
            twice=True,
            cut=("the comments of posts moderators removed before", "post removals"),
        )

    def banned_people(self, cursor: str | None, *, since: datetime | None = None) -> Page[int]:
        """The modlog's site bans (``ModBan``, newest first, unbans left out): 0.19's
        ``remove_user_data`` removes every post of the person, with no row per post, so
        ``removed_posts`` never names them, and ``post/list`` hides them from admins too.
        ``cursor``: the page number; ``next`` None at the end, at ``last_page`` (said),
        or at a ban before ``since``."""
        return self._modlog_ids(
            "ban",
            "other_person_id",
            cursor,
            since,
            twice=False,
            cut=("the posts removed with a site ban before", "site bans"),
        )

    def _modlog_ids(
        self,
        action: str,
        id_field: str,
        cursor: str | None,
        since: datetime | None,
        *,
        twice: bool,
        cut: tuple[str, str],
    ) -> Page[int]:
        """One page of the modlog's ``action`` rows (newest first), the ``id_field`` of
        each whose flag is set (a removal or ban, not a restore or unban; ``twice``: an
        id named again is kept again); ``cut``: what is not reached past ``last_page``
        (said, ``not_reached``), and what the rows are."""
        page = int(cursor) if cursor and cursor.isdigit() else 1
        type_, key, row_key, flag, _ = _MODLOG[action]
        params: dict[str, Any] = {"type_": type_, "page": page, "limit": PAGE}
        views = _listing(self.api("GET", "/modlog", params=params), key, "modlog")
        ids: list[int] = []
        more = len(views) >= PAGE
        reached: list[datetime] = []
        for view in views:
            row = view.get(row_key) if isinstance(view, dict) else None
            if not isinstance(row, dict):
                row = {}
            stamp, named = row.get("when_"), row.get(id_field)
            when = parse_time(stamp) if isinstance(stamp, str) else None
            if when is None or not isinstance(named, int) or isinstance(named, bool):
                log.warning("modlog: a %s row without its %s or when_; left out", action, id_field)
                continue
            if since is not None and when < since:
                more = False  # newest first: every row after it is older still
                break
            reached.append(when)
            if row.get(flag) and (twice or named not in ids):
                ids.append(named)
        if more and page >= self.last_page():
            self._cut_at(action, cut[0], reached, f"{cut[1]} in the modlog")
            more = False
        return Page(ids, len(views), str(page + 1) if more else None)

    def removed_posts_of(self, person_id: int, page: int) -> Page[Item]:
        """``GET /user``'s posts (``PostQuery`` with ``creator_id``): for an admin, the
        person's removed posts too (0.19.9-0.19.20 ``post_view.rs``: "only show removed
        posts to admin when viewing user profile"); those removed kept. It follows the
        account's ``show_nsfw`` (no query parameter overrides it): with it off, the NSFW
        ones are not listed, which ``not_reached`` says."""
        if self._show_nsfw is False:
            self._cut["user_nsfw"] = (
                "NSFW posts a site ban removed, and their comments: Lemmy 0.19's GET /user "
                "lists them only to an account with show_nsfw on, and the bot account's is "
                "off (`modbot run` or a sweep without --dry-run turns it on)"
            )
        params = {"person_id": person_id, "sort": "New", "page": page, "limit": PAGE}
        body = self.api("GET", "/user", params=params)
        views = _listing(body, "posts", "user")
        posts = [views_v3.post_item(v) for v in views]
        more = len(views) >= PAGE and page < self.last_page()
        return Page(
            [p for p in posts if p.removed and not p.problem],
            len(views),
            str(page + 1) if more else None,
        )

    def post(self, post_id: int) -> Item:
        return views_v3.post_item(self.get_post(post_id))

    def comment(self, comment_id: int) -> Item:
        return views_v3.comment_item(self.get_comment(comment_id))

    def person(self, person_id: int) -> Person:
        """A person with their site ban. Lemmy 0.19.0 to 0.19.13 hides a deleted account
        from everyone (``GET /user``: 400 ``couldnt_find_person``), its bans included:
        the modlog's newest ban line of them, which carries their person row (ban and
        its end as they are now), says it instead. None there: the error stands."""
        try:
            view = self.get_person(person_id)
        except LemmyError as exc:
            if exc.error != "couldnt_find_person":
                raise
            hidden = exc
        else:
            with malformed_answer(f"user {person_id}"):
                return views_v3.person_read(view["person"])
        params = {"type_": "ModBan", "other_person_id": person_id, "limit": 1}
        views = _listing(self.api("GET", "/modlog", params=params), "banned", "modlog")
        with malformed_answer("modlog"):
            row = views[0]["banned_person"] if views else None
            if row is None or row["id"] != person_id:
                raise hidden
            return views_v3.person_read(row)

    def moderates(self, person_id: int) -> frozenset[int]:
        try:
            person = self.api("GET", "/user", params={"person_id": person_id, "limit": 1})
        except LemmyError as exc:
            # 0.19.0-0.19.13 hide a deleted account from everyone (couldnt_find_person):
            # it moderates nothing, rather than a read failing at every cycle
            if exc.error == "couldnt_find_person":
                return frozenset()
            raise
        with malformed_answer("user"):
            return moderated_ids(person["moderates"])

    def communities_led(self, person_id: int) -> LedCommunities:
        person = self.api("GET", "/user", params={"person_id": person_id, "limit": 1})
        with malformed_answer("user"):
            moderates = person["moderates"]

        def moderators_of(community_id: int) -> object:
            answer = self.api("GET", "/community", params={"id": community_id})
            with malformed_answer("community"):
                return answer["moderators"]

        release = self.release()
        # who is "first": 0.19.6+ the earliest made moderator, up to 0.19.5 the lowest
        # person id (get_community_first_mods ordered by person_id); not known: either
        first: Literal["earliest", "lowest id", "either"] = "either"
        if release is not None:
            first = "earliest" if release >= (0, 19, 6) else "lowest id"
        return communities_led(
            person_id, moderates, moderators_of, views_v3.community_of, first=first
        )

    def own_person_id(self) -> int:
        account = self.check_session().account
        if account is None or account.person_id is None:
            raise LemmyBadAnswer("site: Lemmy names no person for the bot's account")
        return account.person_id

    def last_mod_action(
        self, action: str, target_id: int, *, community_id: int | None = None
    ) -> ModlogEntry | None:
        type_, key, _, _, target = _MODLOG[action]
        params: dict[str, Any] = {"type_": type_, target: target_id, "limit": 1}
        if community_id is not None:
            params["community_id"] = community_id
        views = _listing(self.api("GET", "/modlog", params=params), key, "modlog")
        return _modlog_entry(action, views[0]) if views else None  # newest first

    def mod_actions_since(
        self,
        action: str,
        target_id: int,
        since: datetime | None,
        *,
        community_id: int | None = None,
    ) -> list[ModlogEntry]:
        type_, key, _, _, target = _MODLOG[action]
        found: list[ModlogEntry] = []
        for page in range(1, min(MODLOG_PAGES, self.last_page()) + 1):
            params: dict[str, Any] = {"type_": type_, target: target_id, "page": page}
            params["limit"] = PAGE
            if community_id is not None:
                params["community_id"] = community_id
            views = _listing(self.api("GET", "/modlog", params=params), key, "modlog")
            for view in views:
                entry = _modlog_entry(action, view)
                if since is not None and entry.when <= since:
                    return found  # newest first: the rest are older still
                found.append(entry)
            if len(views) < PAGE:
                return found
        raise modlog_too_long(action, target_id, since)

    def reporters(self, kind: str, item_id: int) -> list[int]:
        # Lemmy before 0.19.4 ignores the report list's post_id / comment_id and lists
        # every report: only this item's count.
        found = []
        for view in self.reports_of(kind, item_id):
            report = view.get(f"{kind}_report") if isinstance(view, dict) else None
            if (
                isinstance(report, dict)
                and report.get(f"{kind}_id") == item_id
                and isinstance(report.get("creator_id"), int)
            ):
                found.append(report["creator_id"])
        return found

    def sent_messages(self, creator_id: int, page: int) -> list[Message]:
        """A page of them; one entry Lemmy never sends (a null, a message without its
        text) is a ``LemmyBadAnswer``: left out, a copy that went would be sent again."""
        views = self.sent_private_messages(creator_id, page=page)
        with malformed_answer("private_message/list"):
            return [views_v3.message(m) for m in views]

    def image_gone(self, alias: str) -> bool:
        """Whether pict-rs no longer has ``alias``: its internal API when configured, else
        the instance's image route (only the status is read, never the image)."""
        if self.pictrs is not None:
            return self.pictrs.alias_gone(alias)
        return gone(self, f"{self.url}/pictrs/image/{alias}", alias)

    def local_image_url(self, alias: str) -> str | None:
        return None  # 0.19 serves its upload URLs as content writes them

    def _list_posts_after(
        self,
        cursor: str | None,
        page_ids: Sequence[int],
        community_id: int | None = None,
        *,
        moderator_view: bool = False,
    ) -> tuple[list[Any], str | None]:
        """One page after ``cursor``; if the post it names is gone, after an earlier one.

        Lemmy 0.19's cursor names the last post of the previous page (``after_post``:
        ``P`` + hex id) and fails once that post is purged, which the bot itself may
        just have done: 400 ``unknown`` "Could not parse pagination token" (0.19.9 to
        0.19.20; ``couldnt_find_post`` taken too). Resuming after the previous page's
        other posts (newest to oldest order, so from the end backwards) re-reads at most
        a few posts already seen, which are skipped.
        """
        try:
            return self.list_posts(
                page_cursor=cursor,
                limit=PAGE,
                community_id=community_id,
                moderator_view=moderator_view,
            )
        except LemmyError as exc:
            if cursor is None or not _cursor_gone(exc):
                raise
        for post_id in reversed(page_ids):
            fallback = f"P{post_id:x}"
            if fallback == cursor:
                continue
            try:
                views, next_cursor = self.list_posts(
                    page_cursor=fallback,
                    limit=PAGE,
                    community_id=community_id,
                    moderator_view=moderator_view,
                )
            except LemmyError as exc:
                if not _cursor_gone(exc):
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
        return self.list_posts(
            page_cursor=None, limit=PAGE, community_id=community_id, moderator_view=moderator_view
        )

    # ================================================================== v3 endpoints (JSON)
    def site(self) -> dict[str, Any]:
        return self.api("GET", "/site")

    def ensure_session(self) -> dict[str, Any]:
        """``GET /site``; when it answers as for an anonymous visitor, log in again.

        Lemmy ignores a dropped token on reads, so a bot that only watches for 401 would
        read the anonymous view (NSFW hidden) for days. Returns the site response.
        """
        sent_with = self._token  # another thread may log in again meanwhile: not twice
        site = self.site()
        if site.get("my_user"):
            return site
        if not isinstance(site.get("site_view"), dict):
            # not Lemmy's /site (a proxy's or a cache's JSON): no sign of a dropped login,
            # and a login at every check would spend the few Lemmy takes an hour
            raise LemmyBadAnswer(
                f"GET /site: the answer has no site_view (got "
                f"{kind_of(site.get('site_view'))}), as Lemmy's always has; is LEMMY_URL "
                "the Lemmy API, not a proxy or another site?",
                error="bad_answer",
            )
        why = "Lemmy answers as if logged out (no my_user in /site)"
        if self.login(dropped=sent_with, why=why):
            # a token another process kept was taken up: Lemmy may have dropped it too
            site = self.site()
            if site.get("my_user"):
                return site
            self.login(dropped=self._token, why=why)
        site = self.site()
        if not site.get("my_user"):
            raise LemmyLoginError(
                "Lemmy still answers as for an anonymous visitor after logging in again"
            )
        return site

    def list_posts(
        self,
        *,
        page_cursor: str | None = None,
        limit: int = 50,
        sort: str = "New",
        show_nsfw: bool = True,
        community_id: int | None = None,
        moderator_view: bool = False,
    ) -> tuple[list[Any], str | None]:
        """One page of ``post/list`` (``type_=All``, ``ModeratorView`` with
        ``moderator_view``; ``community_id``: that community's): (posts, next_page
        cursor)."""
        type_ = "ModeratorView" if moderator_view else "All"
        params: dict[str, Any] = {"sort": sort, "type_": type_, "limit": min(limit, 50)}
        if community_id is not None:
            params["community_id"] = community_id
        if show_nsfw:
            params["show_nsfw"] = "true"
        if page_cursor:
            params["page_cursor"] = page_cursor
        body = self.api("GET", "/post/list", params=params)
        posts = _listing(body, "posts", "post/list")
        next_page = body.get("next_page")
        if next_page is not None and not isinstance(next_page, str):
            raise LemmyBadAnswer(
                f"post/list: next_page is {kind_of(next_page)}, not a string", error="bad_answer"
            )
        return posts, next_page or None

    def list_comments(
        self,
        *,
        page: int = 1,
        limit: int = 50,
        sort: str = "New",
        post_id: int | None = None,
        as_moderator: bool = False,
    ) -> list[Any]:
        """One page of ``comment/list`` (``type_=All``, ``ModeratorView`` with
        ``as_moderator``; no cursor, ``page`` <= 100)."""
        params: dict[str, Any] = {
            "sort": sort,
            "type_": "ModeratorView" if as_moderator else "All",
            "limit": min(limit, 50),
            "page": page,
        }
        if post_id is not None:
            params["post_id"] = post_id
        return _listing(self.api("GET", "/comment/list", params=params), "comments", "comment/list")

    def get_post(self, post_id: int) -> Any:
        """One post's ``PostView``; it is checked where it becomes an item (``views_v3``).

        0.19's ``GET /post`` marks the post read for the account that reads it and
        stores its comment count for it (``api_crud/src/post/read.rs``): a change on the
        instance, which also hides the post from the account's listings while its
        ``show_read_posts`` is off. Without the login it marks nothing, and no other
        0.19 call reads one post by id. So a post is read without the login first; only
        one a visitor is not shown (removed, deleted, or every post of a private
        instance), which admins and moderators alone see, is read logged in: Lemmy then
        marks it read, a dry run too (said once in the log), as nothing else shows it."""
        return self.read_visitor_first(
            "/post",
            {"id": post_id},
            hidden=lambda exc: exc.status == 400 and (exc.error or "").startswith("couldnt_find"),
            dry_run_note=(
                "dry run: a post Lemmy 0.19 shows only to a logged-in reader (removed or "
                "deleted, or any on a private instance) is read logged in, and Lemmy marks "
                "it read for the bot's account (GET /post; 0.19 has no other read by id); "
                "nothing else is changed"
            ),
        ).get("post_view")

    def list_all_media(self, *, page: int = 1, limit: int = 50) -> list[Any]:
        """One page of every upload on the instance, newest first (admin only, 0.19.4+)."""
        params = {"page": page, "limit": min(limit, 50)}
        return _listing(
            self.api("GET", "/admin/list_all_media", params=params),
            "images",
            "admin/list_all_media",
        )

    def list_communities(self, *, page: int = 1, limit: int = 50) -> list[Any]:
        """One page of ``community/list`` (every community, local and federated, nsfw
        too, newest first)."""
        params = {
            "type_": "All",
            "sort": "New",
            "show_nsfw": "true",
            "page": page,
            "limit": min(limit, 50),
        }
        return _listing(
            self.api("GET", "/community/list", params=params), "communities", "community/list"
        )

    def get_comment(self, comment_id: int) -> Any:
        """One comment's ``CommentView`` (admins and moderators also get a removed one;
        a view without its fields is checked where it becomes an item)."""
        answer = self.api("GET", "/comment", params={"id": comment_id})
        return read_view(answer, "comment_view", f"comment/{comment_id}")

    def get_person(self, person_id: int) -> dict[str, Any]:
        """A person's ``PersonView`` (``person.banned``, ``person.ban_expires``)."""
        params = {"person_id": person_id, "limit": 1}
        return read_person_view(self.api("GET", "/user", params=params), person_id)

    def reports_of(self, kind: str, item_id: int) -> list[Any]:
        """Every report on one post or comment (``kind``), resolved or not, newest first
        (0.19.4+; an earlier 0.19 answers every report: ``reporters`` picks the item's)."""
        params = {f"{kind}_id": item_id, "unresolved_only": "false", "limit": 50}
        body = self.api("GET", f"/{kind}/report/list", params=params)
        return _listing(body, f"{kind}_reports", f"{kind}/report/list")

    def sent_private_messages(self, creator_id: int, *, page: int = 1) -> list[dict[str, Any]]:
        """One page of the private messages ``creator_id`` (the bot) sent, newest first."""
        params = {"unread_only": "false", "creator_id": creator_id, "page": page, "limit": 50}
        body = self.api("GET", "/private_message/list", params=params)
        return _listing(body, "private_messages", "private_message/list")

    def nodeinfo(self) -> dict[str, Any]:
        """``/nodeinfo/2.0.json`` (Lemmy redirects it to 2.1), read once."""
        if self._nodeinfo is None:
            url = f"{self.url}/nodeinfo/2.0.json"
            self._nodeinfo = self.retrying(
                "nodeinfo",
                lambda: self.send("GET", url, auth=False, follow_redirects=True),
                auth=False,
            )
        return self._nodeinfo

    # ================================================================== actions
    def _pythorhead(self) -> Any:
        if self._ph is None:
            self._ph = _pythorhead_on(self)
        return self._ph

    def _act(
        self,
        what: str,
        call: Callable[[Any], Any],
        *,
        done_if: str | None = None,
        went: Callable[[], bool] | None = None,
        idempotent: bool = False,
    ) -> Any:
        """One mutating call through pythorhead, with our retries, rate cap and re-login.

        ``done_if``: the error Lemmy answers once the call took effect (a purge's
        ``couldnt_find_post``, a report's ``couldnt_create_report``: one per reporter
        and item). Said to a retry, it means the attempt before, whose answer was lost (a
        timeout, a 502), was carried out: done, not failed. 0.19 has no idempotency keys
        to say so itself. ``went``: asked before each retry whether the attempt before took
        effect (a private message, which Lemmy would store twice): True ends it, done.
        ``idempotent``: sending it twice does what sending it once does (settings). A
        call with none of these is not sent again when its answer did not come (a ban,
        a removal: a second modlog line): it fails, and the executor looks next cycle."""
        self.refuse_if_read_only(what)
        self.token()  # log in first
        ph = self._pythorhead()
        attempts = 0

        def once() -> Any:
            nonlocal attempts
            attempts += 1
            if attempts > 1 and went is not None and _went(went):
                log.info("%s: Lemmy had carried it out already (its answer was lost)", what)
                return {}
            return call(ph)

        def _went(went: Callable[[], bool]) -> bool:
            try:
                return went()
            except LemmyError as exc:
                # The attempt before may have been carried out, its answer lost: whatever
                # Lemmy answered to this read (its rate limit) says nothing of it, so it
                # fails as an answer lost (no error code), which the caller looks up
                # before it sends again.
                raise LemmyUnavailable(
                    f"{what}: its answer was lost, and whether Lemmy carried it out cannot "
                    f"be read now ({exc})",
                    status=exc.status,
                ) from None

        # Our transport raises our own errors (Transient, LoggedOut, LemmyError). A call
        # with no way to tell that an unanswered attempt was carried out (a ban, a
        # removal: 0.19 has no idempotency keys) is not sent again blind.
        try:
            return self.retrying(
                what,
                once,
                auth=True,
                resend_unanswered=idempotent or done_if is not None or went is not None,
            )
        except LemmyError as exc:
            if done_if is None or attempts < 2 or exc.error != done_if:
                raise
            log.info("%s: Lemmy had carried it out already (%s on the retry)", what, exc.error)
            return {}

    def remove_post(self, post_id: int, reason: str) -> Any:
        return self._act("remove post", lambda ph: ph.post.remove(post_id, True, reason))

    def remove_comment(self, comment_id: int, reason: str) -> Any:
        return self._act("remove comment", lambda ph: ph.comment.remove(comment_id, True, reason))

    def purge_post(self, post_id: int, reason: str) -> Any:
        return self._act(
            "purge post", lambda ph: ph.post.purge(post_id, reason), done_if="couldnt_find_post"
        )

    def purge_comment(self, comment_id: int, reason: str) -> Any:
        return self._act(
            "purge comment",
            lambda ph: ph.comment.purge(comment_id, reason),
            done_if="couldnt_find_comment",
        )

    def ban_site(
        self, person_id: int, reason: str, *, expires: int | None, remove_data: bool
    ) -> Any:
        return self._ban(
            "ban from site",
            lambda ph: ph.user.ban(
                True, expires=expires, person_id=person_id, reason=reason, remove_data=remove_data
            ),
            "ban",
            person_id,
            expires,
        )

    def ban_community(
        self,
        person_id: int,
        community_id: int,
        reason: str,
        *,
        expires: int | None,
        remove_data: bool,
    ) -> Any:
        return self._ban(
            "ban from community",
            lambda ph: ph.community.ban_user(
                True,
                expires=expires,
                person_id=person_id,
                community_id=community_id,
                reason=reason,
                remove_data=remove_data,
            ),
            "community_ban",
            person_id,
            expires,
            community_id=community_id,
        )

    def _ban(
        self,
        what: str,
        call: Callable[[Any], Any],
        action: str,
        person_id: int,
        expires: int | None,
        *,
        community_id: int | None = None,
    ) -> Any:
        """A ban (``action``: ``ban`` or ``community_ban``). Lemmy 0.19.0 to 0.19.13 bans
        a deleted account, writes its modlog line, then answers 400
        ``couldnt_find_person`` (``PersonView::read`` hides deleted accounts; the ban
        handlers read the person last): the modlog says whether this ban took, and one
        that did is done, not a failure sent again each cycle."""
        since = time.time() - 120  # the clocks of the bot and of Lemmy may differ a little
        try:
            return self._act(what, call)
        except LemmyError as exc:
            if exc.error != "couldnt_find_person":
                raise
            try:
                line = self.last_mod_action(action, person_id, community_id=community_id)
                me = self.own_person_id()
            except LemmyError as unread:
                log.warning("%s: cannot read the modlog to see whether it took: %s", what, unread)
                raise exc from None
            ends = None if line is None or line.expires is None else line.expires.timestamp()
            if (
                line is None
                or line.revert
                or line.moderator_id != me
                or line.when.timestamp() < since
                or (ends is None) != (expires is None)
                or (ends is not None and expires is not None and abs(ends - expires) > 1)
            ):
                raise
            log.info(
                "%s: Lemmy wrote the ban of person %s (the modlog says so), then answered "
                "couldnt_find_person: their account is deleted (Lemmy 0.19.0 to 0.19.13 "
                "cannot read it back); done",
                what,
                person_id,
            )
            return {}

    def restore_post(self, post_id: int, reason: str) -> Any:
        return self._act("restore post", lambda ph: ph.post.remove(post_id, False, reason))

    def restore_comment(self, comment_id: int, reason: str) -> Any:
        return self._act("restore comment", lambda ph: ph.comment.remove(comment_id, False, reason))

    def unban_site(self, person_id: int, reason: str, *, restore_data: bool) -> Any:
        # Not a restore: 0.19.6+ calls remove_user_data whenever remove_data is set, ban
        # or unban (lemmy-js-client's "false means restore" was lemmy#4845's, reverted),
        # so restore_data=True removes everything of theirs; undo never asks it of 0.19.
        return self._act(
            "unban from site",
            lambda ph: ph.user.ban(
                False, person_id=person_id, reason=reason, remove_data=restore_data
            ),
        )

    def unban_community(
        self, person_id: int, community_id: int, reason: str, *, restore_data: bool
    ) -> Any:
        # remove_data removes their content there, ban or unban (as unban_site's)
        return self._act(
            "unban from community",
            lambda ph: ph.community.ban_user(
                False,
                person_id=person_id,
                community_id=community_id,
                reason=reason,
                remove_data=restore_data,
            ),
        )

    def report_post(self, post_id: int, reason: str) -> Any:
        return self._act(
            "report post",
            lambda ph: ph.post.report(post_id, reason),
            done_if="couldnt_create_report",
        )

    def report_comment(self, comment_id: int, reason: str) -> Any:
        return self._act(
            "report comment",
            lambda ph: ph.comment.report(comment_id, reason),
            done_if="couldnt_create_report",
        )

    def private_message(self, recipient_id: int, content: str, *, key: str | None = None) -> Any:
        # pythorhead's hint says str; Lemmy rejects anything but an int id. 0.19 has no
        # idempotency keys (``key``): the bot's sent messages tell a resend apart, after a
        # crash (``modbot.actions.notices``) and before a retry of an answer lost here.
        recipient = int(recipient_id)
        since = time.time() - 120  # the clocks of the bot and of Lemmy may differ a little
        # Lemmy stores a message as its Markdown processing leaves it (slurs replaced,
        # tracking parameters cut from URLs: process_markdown), so the copy that went
        # may differ from ``content``: a key that names the line marking its message
        # (the notices' ``_Key.mark``) finds it by that line.
        mark = getattr(key, "mark", None)
        return self._act(
            "private message",
            lambda ph: ph.private_message.create(content, recipient),
            went=lambda: self._message_went(
                recipient, content, since, mark if isinstance(mark, str) and mark else None
            ),
        )

    def _message_went(
        self, recipient_id: int, content: str, since: float, mark: str | None = None
    ) -> bool:
        """Whether the bot's newest sent messages hold ``content`` to ``recipient_id``,
        sent after ``since`` (unix seconds), or, with ``mark``, a message holding that
        line to them whenever Lemmy says it was sent (its clock may be behind the bot's:
        the mark names this message alone)."""
        me = views_v3.site_info(self.site()).account
        if me is None or me.person_id is None:
            return False
        for message in self.sent_messages(me.person_id, 1):
            if message.recipient_id != recipient_id:
                continue
            if mark is not None and mark in message.content:
                return True
            if (
                message.content == content
                and message.published is not None
                and message.published.timestamp() >= since
            ):
                return True
        return False

    def save_user_settings(self, **settings: Any) -> Any:
        done = self._act(
            "save user settings",
            lambda ph: ph.user.save_user_settings(**settings),
            idempotent=True,  # the same settings twice are the same settings
        )
        if "show_nsfw" in settings:
            self._show_nsfw = bool(settings["show_nsfw"])
            if self._show_nsfw:
                self._cut.pop("user_nsfw", None)
        return done

    def delete_image(self, alias: str, delete_token: str) -> dict[str, Any]:
        """Delete one upload with its delete token (an admin may, from 0.19.12)."""
        self.refuse_if_read_only("image delete")
        self.token()  # log in first
        url = f"{self.url}/pictrs/image/delete/{delete_token}/{alias}"
        try:
            return self.retrying(
                "delete image",
                # the image routes take the token as a cookie, not a header
                lambda: self.send(
                    "GET", url, auth=False, headers={"Cookie": f"jwt={self.token().reveal()}"}
                ),
                auth=True,
            )
        except LemmyError as exc:  # keep the delete token out of logs and records
            # Same type: a LemmyUnavailable must stay one, so the delete is tried again.
            raise type(exc)(
                str(exc).replace(delete_token, "<delete-token>"), status=exc.status, error=exc.error
            ) from None

    def purge_image_alias(self, alias: str) -> dict[str, Any]:
        """pict-rs ``POST /internal/purge?alias=``: the file and *all* its aliases."""
        self.refuse_if_read_only("pict-rs purge")
        if self.pictrs is None:
            raise LemmyError("pict-rs purge needs PICTRS_URL and PICTRS_API_KEY")
        return self.pictrs.purge(alias)
