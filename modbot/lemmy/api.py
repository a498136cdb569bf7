"""``LemmyApi``: what modbot asks of a Lemmy instance, whatever its API version.

The stages after the Lemmy layer (source, actions, pipeline) are typed against this
protocol and see records of ``modbot.model`` only. An API version's client implements
it (``modbot.lemmy.v3.LemmyClient`` for Lemmy 0.19) and is listed in
``modbot.lemmy.API_VERSIONS``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from modbot.errors import LemmyError
from modbot.model import Community, Item, Message, Page, Person, SiteInfo, StorePage

__all__ = [
    "MAX_MODERATED",
    "MAX_PAGE",
    "MODLOG_ACTIONS",
    "MODLOG_PAGES",
    "NEVER_LISTED",
    "PAGE",
    "LedCommunities",
    "LemmyApi",
    "ModlogEntry",
    "communities_led",
    "moderated_ids",
    "modlog_too_long",
]

PAGE = 50  # the most entries Lemmy sends in one page
MAX_PAGE = 100  # Lemmy 0.19.15+ refuses page > 100 in its page-numbered listings (0.19.14: > 10)

#: What Lemmy's listings show to no one, admins included, on 0.19 and 1.0 alike (0.19.20
#: ``db_views/src/post_view.rs``, 1.0 ``db_views/post/src/impls.rs``): a deleted post
#: only to its creator, a deleted community's posts to no one, nor their comments
#: (comments are read post by post). A sweep through the listings cannot reach them;
#: their files are in pict-rs' store (``modbot sweep --store``).
NEVER_LISTED = (
    "posts their authors deleted, and their comments",
    "posts in deleted communities, and their comments",
)

#: The moderator actions whose modlog ``LemmyApi.last_mod_action`` reads.
MODLOG_ACTIONS = ("remove_post", "remove_comment", "ban", "community_ban")

#: The most pages ``LemmyApi.mod_actions_since`` reads (PAGE lines each): one target's
#: lines of one action are a handful; more is a modlog not worth reading to the end.
MODLOG_PAGES = 20


#: The most communities of one person ``LemmyApi.communities_led`` reads (a request each).
MAX_MODERATED = 20


@dataclass(frozen=True)
class LedCommunities:
    """The communities a person is the first (top) moderator of, not removed already:
    what a site ban with ``remove_data`` removes with them, everyone's posts in them
    included (Lemmy 0.19.6+ and 1.0, ``get_community_first_mods``: the earliest made
    moderator). ``unread``: communities they moderate that were not read (past
    ``MAX_MODERATED``); they may lead some of those too."""

    communities: tuple[Community, ...]
    unread: int = 0


def communities_led(
    person_id: int,
    moderates: object,
    moderators_of: Callable[[int], object],
    record: Callable[[dict], Community],
    *,
    first: Literal["earliest", "lowest id", "either"] = "earliest",
) -> LedCommunities:
    """``LemmyApi.communities_led`` for either API version: ``moderates``, the person's
    ``CommunityModeratorView`` list (in no order); ``moderators_of(id)``, a community's
    moderators as ``GET /community`` lists them, the earliest made first; ``record``
    makes a view's community a ``Community``. A malformed entry is left out.
    ``first``: which moderator Lemmy's ban takes as the community's first: the earliest
    made (0.19.6+, 1.0), the one of the lowest person id (0.19.0 to 0.19.5), or, the
    release not known, either (the communities it may remove: none left unsaid)."""
    ids = []
    for view in moderates if isinstance(moderates, list) else []:
        own = view.get("community") if isinstance(view, dict) else None
        if (
            isinstance(own, dict)
            and isinstance(own.get("id"), int)
            and not own.get("removed")
            and not own.get("deleted")
        ):
            ids.append(own["id"])
    led = []
    for community_id in ids[:MAX_MODERATED]:
        moderators = moderators_of(community_id)
        views = moderators if isinstance(moderators, list) else []
        mod_ids = [_moderator_id(v) if isinstance(v, dict) else None for v in views]
        view = views[0] if views else None
        own = view.get("community") if isinstance(view, dict) else None
        known = [i for i in mod_ids if i is not None]
        ours = (first != "lowest id" and bool(mod_ids) and mod_ids[0] == person_id) or (
            first != "earliest" and bool(known) and min(known) == person_id
        )
        if ours and isinstance(own, dict) and isinstance(own.get("id"), int):
            led.append(record(own))
    return LedCommunities(tuple(led), max(0, len(ids) - MAX_MODERATED))


def moderated_ids(moderates: object) -> frozenset[int]:
    """The community ids of a person's ``CommunityModeratorView`` list (``moderates``,
    either API version); a malformed entry is left out."""
    ids = set()
    for view in moderates if isinstance(moderates, list) else []:
        own = view.get("community") if isinstance(view, dict) else None
        if isinstance(own, dict) and isinstance(own.get("id"), int):
            ids.add(own["id"])
    return frozenset(ids)


def _moderator_id(view: dict) -> int | None:
    top = view.get("moderator")
    person = top.get("id") if isinstance(top, dict) else None
    return person if isinstance(person, int) else None


@dataclass(frozen=True)
class ModlogEntry:
    """One line of Lemmy's modlog: who did what to a post, comment or person, when."""

    action: str  # one of MODLOG_ACTIONS
    revert: bool  # a restore, or an unban
    when: datetime
    moderator_id: int | None  # None: Lemmy hides who acted from this account
    moderator: str | None = None  # their name (name@instance when remote), when shown
    expires: datetime | None = None  # a ban's end (None: permanent)
    reason: str | None = None
    bulk: bool = False  # 1.0: a ban's line on each post and comment of the person


def modlog_too_long(action: str, target_id: int, since: datetime | None) -> LemmyError:
    """What ``mod_actions_since`` raises past ``MODLOG_PAGES``: not all of it was read."""
    after = "" if since is None else f" since {since.isoformat()}"
    return LemmyError(
        f"modlog: more than {MODLOG_PAGES * PAGE} lines of {action} on {target_id}{after}; "
        "not read further",
        error="modlog_too_long",
    )


class LemmyApi(Protocol):
    """One bot account on one instance. Reads raise ``LemmyError`` (``LemmyUnavailable``
    when it is passing); actions in a read-only (dry-run) client raise ``ReadOnlyError``
    before anything is sent."""

    api_version: str  # "v3" | "v4"
    #: What this version's listings never show, admins included (``NEVER_LISTED``)
    never_listed: tuple[str, ...]
    read_only: bool
    requests: int  # requests sent so far, logins and retries included
    on_login: Callable[[str], None] | None  # given each new login token, to keep it
    # the process's stop event (SIGTERM): set, a request's retry waits end at once
    stop: threading.Event | None
    #: 1.0: the bot account's ``private_messages_enabled`` was off when ``check_session``
    #: last read it; Lemmy then refuses every message the account sends (400
    #: ``couldnt_create``, the sender's setting as much as the recipient's). 0.19 has no
    #: such setting: always False.
    messages_off: bool

    def close(self) -> None: ...

    def restore_token(self, token: str) -> None:
        """A token kept from an earlier run, instead of logging in (logins are scarce)."""

    # --- the session and the site
    def check_session(self) -> SiteInfo:
        """The site as the bot's account sees it, logging in again when Lemmy answers as
        to an anonymous visitor (a dropped login is silent on reads)."""
        ...

    def site_info(self) -> SiteInfo: ...

    def admin_ids(self) -> frozenset[int]:
        """The person ids of the site's admins: ``GET /site`` alone (``site_info`` on 1.0
        also reads the account and the custom emojis), for a check right before acting,
        and the admins' notices' recipients right before they are sent."""
        ...

    # --- listings, newest first (a malformed entry is an Item with its `problem`)
    def posts(
        self,
        cursor: str | None,
        *,
        resume_after: Sequence[int] = (),
        community_id: int | None = None,
    ) -> Page[Item]:
        """One page of every post; ``cursor``: the page after the one that gave it.
        ``resume_after``: the ids of the page before (newest first), to carry on from when
        the cursor's own post is gone (purged). ``community_id``: that community's posts
        only (its featured ones first): 1.0 lists an unlisted community's posts there
        alone, never in the listing of every post, even to admins."""
        ...

    def comments(
        self, page: int, *, post_id: int | None = None, as_moderator: bool = False
    ) -> Page[Item]:
        """One page (from 1) of every comment, or of one post's; ``Page.next`` set when
        another page can be read. ``as_moderator``: only those in the communities this
        account moderates (Lemmy's ``ModeratorView``): the one listing where 1.0 shows an
        unlisted community's comments to an account that does not follow it (an admin
        who does not moderate it gets none)."""
        ...

    def removed_posts(self, cursor: str | None, *, since: datetime | None = None) -> Page[int]:
        """One page of the ids of the posts moderators removed, from the modlog, newest
        first, down to ``since`` (``post/list`` leaves them out; their comments are still
        on the instance). ``cursor`` None for the first page, then ``Page.next``."""
        ...

    def banned_people(self, cursor: str | None, *, since: datetime | None = None) -> Page[int]:
        """One page of the ids of the people banned from the site, from the modlog,
        newest first, down to ``since``, where a ban can hide posts that
        ``removed_posts`` does not name: 0.19's ban with ``remove_data`` removes each of
        their posts without a modlog row of its own (``removed_posts_of`` reads them).
        An empty page where none is hidden so (1.0 names each removal in the modlog)."""
        ...

    def removed_posts_of(self, person_id: int, page: int) -> Page[Item]:
        """One page (from 1) of a person's removed posts, newest first, as Lemmy lists
        them to an admin (0.19: ``GET /user``, the one listing that shows them), not
        those they deleted themselves nor those of deleted communities (listed to no
        one); ``Page.next`` set when another page can be read."""
        ...

    def uploads(self, page: int) -> Page[Item]:
        """One page (from 1) of the newest uploads on the instance, newest first (admins
        only), for a poll: no further than ``MAX_PAGE`` pages (1.0: the newest
        ``MEDIA_KEPT`` of a walk of its whole list, which has no order). ``next`` is None
        on a full last page Lemmy serves: the poll says what it left unread (a8008dd)."""
        ...

    def not_reached(self) -> list[str]:
        """What the listings read so far could not reach, in words, for a sweep's
        summary: ``never_listed``, then each listing Lemmy's own limits cut short (0.19:
        the modlog's and the media list's page limit, with how far back they reached),
        then what the account's settings hid where no query overrides them (0.19's
        ``GET /user`` follows ``show_nsfw``)."""
        ...

    def listing_cuts(self) -> dict[str, str]:
        """The lines ``not_reached`` says after ``never_listed``, by listing: what the
        listings read so far recorded, kept with a sweep's stored position so that the
        process resuming it says them too (``restore_listing_cuts``)."""
        ...

    def restore_listing_cuts(self, cuts: Mapping[str, str]) -> None:
        """From now on ``listing_cuts`` is ``cuts`` (and what listings read next add):
        a walk's own, as kept with the sweep's position by the process that began it,
        or none for a walk from its start (not a walk this client read before)."""
        ...

    #: Whether ``upload_pages`` lists the newest first (0.19); 1.0's media list has no
    #: order, so a walk reads it to its end, whatever the sweep's ``since``.
    uploads_newest_first: bool

    def upload_pages(self, cursor: str | None) -> Page[Item]:
        """One page of every upload (admins only) in the media list's own order, for a
        walk that reads all of it and keeps its place: ``cursor`` None for the first
        page, then ``Page.next`` (None at the end). 0.19: newest first, by page number,
        no further than ``MAX_PAGE`` (its limit: a full last page without ``next``); 1.0: the list's own
        cursor, every upload however many."""
        ...

    def communities(self, cursor: str | None) -> Page[Community]:
        """One page of every community the instance knows, local and federated, newest
        first (``community/list``, nsfw ones too): ``cursor`` None for the first page,
        then the ``Page.next`` before. An entry Lemmy sent malformed is left out (and
        counted in ``Page.sent``)."""
        ...

    # --- reads by id: whether an action took effect (after a crash while sending it)
    def post(self, post_id: int) -> Item: ...

    def comment(self, comment_id: int) -> Item: ...

    def person(self, person_id: int) -> Person: ...

    def own_person_id(self) -> int:
        """The bot account's own person id (logging in when needed)."""
        ...

    def moderates(self, person_id: int) -> frozenset[int]:
        """The ids of the communities ``person_id`` moderates (their ``moderates``: one
        read). ``LemmyError`` when it cannot be read."""
        ...

    def communities_led(self, person_id: int) -> LedCommunities:
        """The communities ``person_id`` is the first moderator of (``LedCommunities``):
        their ``moderates``, then each one's moderators (a read each, reads only)."""
        ...

    def last_mod_action(
        self, action: str, target_id: int, *, community_id: int | None = None
    ) -> ModlogEntry | None:
        """The newest modlog entry of ``action`` (``MODLOG_ACTIONS``) on one target:
        ``remove_post`` / ``remove_comment``: a removal or restore of the post or comment
        ``target_id`` (a ban's bulk removals too); ``ban``: a site ban or unban of the
        person ``target_id``; ``community_ban``: theirs in ``community_id``. None: the
        modlog has none (a purged target's lines go with it). ``LemmyError`` when it
        cannot be read."""
        ...

    def mod_actions_since(
        self,
        action: str,
        target_id: int,
        since: datetime | None,
        *,
        community_id: int | None = None,
    ) -> list[ModlogEntry]:
        """Every modlog entry of ``action`` on one target (as ``last_mod_action``) later
        than ``since`` (None: all of them), newest first: the newest line alone can hide
        one before it (an admin's ban lifted since, or followed by the bot's own).
        ``LemmyError`` when it cannot be read, or has more than ``MODLOG_PAGES`` pages
        of them (``modlog_too_long``)."""
        ...

    def reporters(self, kind: str, item_id: int) -> list[int]:
        """Who reported a post or comment (``kind``): their person ids."""
        ...

    def sent_messages(self, creator_id: int, page: int) -> list[Message]:
        """One page (from 1) of the private messages ``creator_id`` sent, newest first."""
        ...

    def image_gone(self, alias: str) -> bool:
        """Whether pict-rs no longer has the upload ``alias``."""
        ...

    def local_image_url(self, alias: str) -> str | None:
        """Where to fetch the local upload ``alias`` when the URL written in content may
        not serve it (1.0 has no route for 0.19's ``/pictrs/image/`` links); None: fetch
        it as written."""
        ...

    @property
    def can_purge_files(self) -> bool:
        """Whether ``purge_file`` can work: pict-rs' internal API is configured (the only
        one that says first which aliases share the file; 1.0's own ``DELETE /image``
        purges them all unchecked, so it is not used)."""
        ...

    # --- actions
    def remove_post(self, post_id: int, reason: str) -> object: ...

    def remove_comment(self, comment_id: int, reason: str) -> object: ...

    def purge_post(self, post_id: int, reason: str) -> object: ...

    def purge_comment(self, comment_id: int, reason: str) -> object: ...

    def ban_site(
        self, person_id: int, reason: str, *, expires: int | None, remove_data: bool
    ) -> object: ...

    def ban_community(
        self,
        person_id: int,
        community_id: int,
        reason: str,
        *,
        expires: int | None,
        remove_data: bool,
    ) -> object: ...

    # --- undoing actions (``modbot undo``); a purge has no undo
    def restore_post(self, post_id: int, reason: str) -> object:
        """Restore a post a moderator removed."""
        ...

    def restore_comment(self, comment_id: int, reason: str) -> object:
        """Restore a comment a moderator removed."""
        ...

    def unban_site(self, person_id: int, reason: str, *, restore_data: bool) -> object:
        """Lift a site ban. ``restore_data`` on 1.0: Lemmy also restores every post and
        comment of theirs (all of them, whoever removed them); uploads a ban deleted stay
        gone. On 0.19 it sends ``remove_data``, which REMOVES everything of theirs, unban
        or not (``modbot.undo.content_restore_refused`` keeps undo from asking it)."""
        ...

    def unban_community(
        self, person_id: int, community_id: int, reason: str, *, restore_data: bool
    ) -> object:
        """Lift a community ban (``restore_data``: 1.0 restores their posts and comments
        there too; 0.19 removes them, as ``unban_site``)."""
        ...

    def report_post(self, post_id: int, reason: str) -> object: ...

    def report_comment(self, comment_id: int, reason: str) -> object: ...

    def private_message(self, recipient_id: int, content: str, *, key: str | None = None) -> object:
        """Send a private message. ``key``: its idempotency key; Lemmy 1.0 carries out one
        send per key of an account while it remembers the key (a few minutes), so a resend
        after a crash is not a second message. 0.19 has no such keys: there the key may
        carry ``mark``, a line of ``content`` that names the message (the notices' marker
        line), by which the client finds a copy already stored before it sends again
        (Lemmy 0.19 stores a message's text rewritten: slurs and tracking parameters cut)."""
        ...

    def save_user_settings(self, **settings: bool | Sequence[int]) -> object:
        """The bot's own account settings (``show_nsfw``, ``discussion_languages``...)."""
        ...

    def delete_image(self, alias: str, delete_token: str) -> object:
        """Delete one upload with its own delete token."""
        ...

    def purge_file(self, alias: str) -> list[str]:
        """Purge a file from pict-rs with every alias of it; the other aliases purged
        with it. ``LemmyError`` when ``can_purge_files`` is false."""
        ...

    # --- pict-rs' whole store (internal API: PICTRS_URL + PICTRS_API_KEY; each raises
    # ``LemmyError`` when pict-rs is not configured)
    def stored_files(
        self, slug: str | None, *, timestamp: datetime | None = None, limit: int = 100
    ) -> StorePage:
        """One page of every file pict-rs stores, newest first: from ``slug`` (a page's
        ``next``), or those stored strictly before ``timestamp``."""
        ...

    def file_aliases(self, alias: str) -> list[str]:
        """Every alias of the file ``alias`` names (identical bytes uploaded again are
        one file in pict-rs, under several aliases); ``[]`` when it has none."""
        ...

    def proxied_aliases(self, url: str) -> list[str]:
        """The aliases of the file pict-rs cached for the remote image ``url`` (none: it
        has no copy)."""
        ...

    def purge_proxied(self, url: str) -> list[str]:
        """Purge the file pict-rs cached for the remote image ``url`` (every alias of it);
        the aliases purged (none: pict-rs had no copy)."""
        ...

    def delete_proxied(self, url: str) -> bool:
        """Delete the alias pict-rs cached the remote image ``url`` under (the file stays
        while another alias has it); False when pict-rs had no copy."""
        ...

    def delete_alias(self, alias: str) -> bool:
        """Delete one alias from pict-rs (the file stays while another alias has it);
        False when pict-rs had no such alias."""
        ...
