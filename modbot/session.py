"""The bot's session with its instance: the login, kept between runs, checked while the
bot runs, and the account it runs as.

At start it reads the site once: the instance's public URL (what content links to), its
custom emojis, its admins, and the bot's own account: not an admin (bans, purges and
never-posted uploads out of reach), settings that hide content from its listings
(NSFW, bot accounts, read posts, other languages) or that refuse its messages to the
admins (1.0's private messages off) are said, and in a live run the settings are
fixed. Later, every ``check_every``, it asks again whether the login is alive (Lemmy
drops a token silently on reads) and refreshes the list of admins.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from modbot.config.settings import Settings
from modbot.errors import LemmyError, LemmyLoginError
from modbot.lemmy.api import LemmyApi
from modbot.lemmy.transport import Transport, shown_url
from modbot.model import SiteInfo
from modbot.store import Store

if TYPE_CHECKING:
    from modbot.config.policy import Policy

__all__ = [
    "DEFAULT_SESSION_CHECK",
    "Session",
    "admin_rules",
    "hides_languages",
    "keep_login",
    "not_admin_warning",
]

log = logging.getLogger(__name__)

# How often a long-running bot asks /site whether Lemmy still knows its login (a dropped
# token is silently anonymous on reads) and refreshes the list of admins. An admin bot
# also notices a drop at once: list_all_media answers 401 and the client logs in again.
DEFAULT_SESSION_CHECK = timedelta(minutes=5)


def admin_rules(policy: Policy | None) -> list[str]:
    """The rules asking what Lemmy does for an admin only, in words: a site ban, a purge
    of the item (removals and community bans need a moderator only)."""
    if policy is None:
        return []
    found = []
    for rule in policy.rules:
        then = rule.then
        needs = [
            *(["site ban"] if then.ban is not None and then.ban.scope == "site" else []),
            *(["purge_item"] if then.purge_item else []),
        ]
        if needs:
            found.append(f"{rule.name!r} ({', '.join(needs)})")
    return found


def not_admin_warning(
    username: str, needs_admin: Sequence[str], state: str = "is not", *, dry_run: bool = False
) -> str:
    """The one wording of "the bot's account is not an admin" (a run's warning, the
    doctor's finding): what is out of reach, and the rules that ask for it
    (``admin_rules``). ``state``: "is not", or "is no longer"; ``dry_run``: the rules
    would fail in a live run."""
    fail = "would fail in a live run" if dry_run else "will fail"
    rules = (
        f"; these rules ask what Lemmy refuses a non-admin (not_an_admin) and {fail}: "
        f"{', '.join(needs_admin)}. Make the account an admin in the instance's "
        "admin settings, or change those rules (a removal or a community ban needs a "
        "moderator of the community only)"
        if needs_admin
        else ("" if dry_run else "; those actions will fail")
    )
    return (
        f"the bot account {username!r} {state} an admin: site bans, purges and "
        "uploads that were never posted (admin/list_all_media) are out of reach" + rules
    )


def keep_login(
    client: LemmyApi,
    store: Store,
    settings: Settings,
    *,
    restore: bool = True,
    write_token: bool = True,
    write_holds: bool = True,
) -> None:
    """The login kept in the state, as every command that logs in takes it up (the run,
    sweep and report's session, `modbot undo`, the gate's messages to the admins): the
    token, so a `run --once` from cron does not log in every minute (Lemmy allows a few
    logins an hour), and Lemmy's holds beside it (a login refused for its rate, a request
    refused with a long Retry-After), so no process sends what the state knows Lemmy
    refuses until then. ``restore`` False: neither is taken up (a client a caller built
    and logged in itself). ``write_token`` / ``write_holds``: a new token, a new hold, is
    written to the state at once."""
    # Lemmy's rate limits are per address, not per account: one holds key per instance.
    # Named by LEMMY_URL without a proxy's login (user:password@): the state names no
    # password. Names of an older modbot that held it are taken up and removed.
    url = shown_url(settings.lemmy_url)
    token_key = f"session:{url}:{settings.username}"
    holds_key = f"holds:{url}"
    written_as = {
        token_key: f"session:{settings.lemmy_url}:{settings.username}",
        holds_key: f"holds:{settings.lemmy_url}",
    }
    if restore:
        kept: dict[str, str | None] = {}
        for key, old in written_as.items():
            kept[key] = store.get_cursor(key)
            if old != key and (before := store.get_cursor(old)) is not None:
                kept[key] = kept[key] or before
                if write_token and write_holds:  # moved, the old name removed
                    store.set_cursors([(key, kept[key]), (old, None)])
        if token := kept[token_key]:
            client.restore_token(token)
        if isinstance(client, Transport):
            client.restore_holds(kept[holds_key])
            # and those another process keeps later (the gate's, the daemon's), before
            # each login this one sends
            client.kept_holds = lambda: store.get_cursor(holds_key)
            # and the token another process logs in with later: a login dropped takes
            # it up first (logins are scarce: Lemmy takes a few an hour per address)
            client.kept_token = lambda: store.get_cursor(token_key)
    # Written at once, never held with a page's cursor writes (``cursors_held``): a
    # login made while a page is read would be lost with them by a kill -9 before the
    # batch before it is recorded, and the next start log in again.
    if write_token:
        client.on_login = lambda jwt: store.set_cursors([(token_key, jwt)])
    if write_holds and isinstance(client, Transport):

        def keep(held: str) -> None:
            # Merged with what the state holds, in one write transaction (SQLite's
            # BEGIN IMMEDIATE: another process's merge waits): the daemon, the gate and
            # `run --once` share these holds, and each knows only its own.
            with store.transaction():
                kept = store.get_cursor(holds_key)
                store.set_cursors([(holds_key, Transport.merge_holds(kept, held))])

        client.on_hold = keep


def hides_languages(site: SiteInfo) -> bool:
    """The bot account's discussion languages leave out some of the site's: posts in
    those are missing from its listings (a live run enables them all)."""
    if site.account is None:
        return False
    every, mine = set(site.all_languages), set(site.account.discussion_languages)
    return bool(every) and bool(mine) and not every <= mine


class Session:
    def __init__(
        self,
        client: LemmyApi,
        store: Store,
        settings: Settings,
        *,
        dry_run: bool,
        warn: Callable[[str], None],
        check_every: timedelta = DEFAULT_SESSION_CHECK,
        keep_token: bool = True,
        needs_admin: Sequence[str] = (),
    ) -> None:
        self.client, self.dry_run, self.warn = client, dry_run, warn
        # The rules a non-admin account cannot carry out (``admin_rules``), named in
        # the warning when the account is not an admin.
        self.needs_admin = list(needs_admin)
        self.username = settings.username
        self.public_url = shown_url(settings.lemmy_url)  # until the site says its own
        self.emojis: frozenset[str] = frozenset()
        self.admin_ids: set[int] = set()
        self.bot_person_id: int | None = None
        self.admin = True  # the bot's account is an admin (uploads can be listed)
        self.started = False
        self._check_every = check_every.total_seconds()
        self._last_check = 0.0
        # The login token and Lemmy's holds, kept between runs (a `run --once` from cron)
        keep_login(client, store, settings, restore=keep_token)

    def start(self) -> bool:
        """Check the account once, at the first call; later, every ``check_every``, that
        the login is still alive. True when the admins (or whether the bot's account is
        one) may have changed."""
        if self.started:
            if time.monotonic() - self._last_check < self._check_every:
                return False
            site = self.client.check_session()
            self._last_check = time.monotonic()
            self.admin_ids = set(site.admin_ids)
            self.emojis = site.custom_emoji_urls  # added since, or a first read that failed
            self._admin_changed(site)
            return True
        site = self.client.check_session()
        self._last_check = time.monotonic()
        version = site.version
        if version and not version.startswith("0.") and self.client.api_version == "v3":
            self.warn(
                f"Lemmy {version}: lemmy.api is v3 (Lemmy 0.19), but from 1.0 the v3 API "
                "has no remove, purge or ban, so actions will fail; set lemmy.api: auto or v4"
            )
        # Content links to the instance by its public URL, which LEMMY_URL need not be.
        self.public_url = (site.public_url or self.public_url).rstrip("/")
        self.emojis = site.custom_emoji_urls
        self._check_account(site)
        self.started = True
        return True

    def _admin_changed(self, site: SiteInfo) -> None:
        """An admin made the bot's account one (as the warning at start asked), or
        took that away: uploads are listed from now on, or no more."""
        if site.account is None or site.account.admin == self.admin:
            return
        self.admin = site.account.admin
        if self.admin:
            log.info("the bot account %r is an admin now: uploads are read", self.username)
        else:
            self._warn_not_admin("is no longer")

    def rules_changed(self, needs_admin: Sequence[str]) -> None:
        """The rules file was read again (SIGHUP): ``needs_admin`` are its rules a
        non-admin account cannot carry out (``admin_rules``). Said again, naming them,
        when the bot's account is not an admin."""
        self.needs_admin = list(needs_admin)
        if self.started and not self.admin and self.needs_admin:
            self._warn_not_admin("is not")

    def _warn_not_admin(self, state: str) -> None:
        """The warning that the bot's account is not an admin (``not_admin_warning``)."""
        self.warn(not_admin_warning(self.username, self.needs_admin, state, dry_run=self.dry_run))

    def _check_account(self, site: SiteInfo) -> None:
        account = site.account
        if account is None:  # check_session logs in again first: not seen in practice
            raise LemmyLoginError("Lemmy answers as for an anonymous visitor")
        self.bot_person_id = account.person_id
        self.admin_ids = set(site.admin_ids)
        self.admin = account.admin
        if not self.admin:
            self._warn_not_admin("is not")
        hiding = {
            k: False
            for k in ("show_nsfw", "show_bot_accounts", "show_read_posts")
            if not getattr(account, k)
        }
        all_languages = list(site.all_languages)
        languages_hidden = hides_languages(site)
        # 1.0 refuses every message an account with private messages off sends
        # (couldnt_create): the admins' notices. A stand-in client may not say.
        messages_off = bool(getattr(self.client, "messages_off", False))
        if not hiding and not languages_hidden and not messages_off:
            return
        what = sorted(hiding) + (["discussion_languages"] if languages_hidden else [])
        if self.dry_run:
            if messages_off:
                self.warn(
                    "the bot account has private messages turned off "
                    "(private_messages_enabled): Lemmy refuses every message it sends "
                    "(couldnt_create), the admins' notices (notify_admins) included; "
                    "dry-run changes nothing. `modbot run` without --dry-run turns them on "
                    "for the bot's own account."
                )
            if what:
                self._warn_hidden_dry_run(what, "show_nsfw" in hiding)
            return
        change: dict[str, bool | list[int]] = dict.fromkeys(hiding, True)
        if languages_hidden:
            change["discussion_languages"] = all_languages
        if messages_off:
            change["private_messages_enabled"] = True
            what.append("private_messages_enabled")
        try:
            self.client.save_user_settings(**change)
        except LemmyError as exc:
            if "discussion_languages" not in change:
                raise
            # A site that restricts languages may refuse some: fix the rest, and say so.
            self.warn(
                f"could not enable every discussion language ({exc}); posts in "
                "languages the bot account lacks stay hidden from it"
            )
            change.pop("discussion_languages")
            what.remove("discussion_languages")
            if not change:
                return
            self.client.save_user_settings(**change)
        why = "so nothing is hidden from it" if what != ["private_messages_enabled"] else ""
        if messages_off:
            why += (" and " if why else "so ") + "Lemmy takes the messages it sends"
        log.warning("changed the bot account's settings %s: %s", why, ", ".join(what))

    def _warn_hidden_dry_run(self, what: list[str], nsfw_hidden: bool) -> None:
        """A dry run's warning that the account's settings ``what`` hide content."""
        # 0.19's GET /user, the one listing of the posts a site ban removed, follows
        # the account's show_nsfw: no query parameter overrides it
        user_nsfw = (
            "; on Lemmy 0.19 the NSFW posts a site ban removed are missed too (GET "
            "/user lists them only with show_nsfw on, no query overrides it)"
            if nsfw_hidden and self.client.api_version == "v3"
            else ""
        )
        self.warn(
            "the bot account's settings hide content from its listings ("
            + ", ".join(what)
            + "); dry-run changes nothing: NSFW posts are read with "
            "show_nsfw=true, but comments in NSFW communities, bot accounts' posts, "
            f"read posts and other languages may be missed{user_nsfw}. `modbot run` "
            "without --dry-run fixes these settings on the bot's own account."
        )
