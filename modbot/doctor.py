"""``modbot doctor``: everything the bot needs, checked in the order it needs it, each
failure with its own message and what to do; and the part of it ``modbot run`` does
before it logs in and loads the model.

    settings   the environment (.env): LEMMY_URL, the account, PICTRS_*; not the
               template's placeholders (`modbot init`'s .env)
    state      MODBOT_STATE: an SQLite file modbot can read and write, or one it can
               create (looked at, never created or written)
    url        LEMMY_URL's shape (the instance's address, not its /api/v3)
    dns, connect, tls          can this machine reach it (``modbot.lemmy.probe``)
    lemmy      is it Lemmy, which version, which API (the one rules.yaml's lemmy.api
               asks, when not auto)
    clock      this machine's clock against Lemmy's Date header (a warning past 1m)
    login      the bot account's username and password (one login; none while the
               state keeps a login Lemmy still takes, or a hold on logins: as `run`)
    admin      the account is an admin (bans, purges, uploads need it): a failure when
               a rule asks a site ban or purge_item, which Lemmy refuses a non-admin
    account    its settings hide nothing from it (else `run` changes them)
    pictrs     PICTRS_URL reachable and PICTRS_API_KEY accepted
    rules      rules.yaml valid (its subscribed feeds as the copies kept in the state);
               check-rules' warnings, which `run` logs at start: a warning
    schedule   what the daemon runs when: the poll, the backlog sweep, the store sweep
               (a warning when one is asked for that these settings cannot run: no
               PICTRS_URL and PICTRS_API_KEY)
    feeds      each subscribed feed: the copy kept in the state file (its age against
               the feed's max_age, its entries, when it was last checked) or the last
               refusal of a feed with none: a warning when a copy is past max_age, no
               longer verifies with the key, or none is kept and the feed was refused
    classifier the model's weights on this machine (not yet: a warning when the first
               start can download them, a failure when not), or the remote workers
               answer as workers (none: a failure, some: a warning); and
               not the random-weights test model (a warning: its verdicts mean nothing);
               the device (one this machine lacks: a failure) and where images are
               decoded (threads, or how many processes); DeepDanbooru's file (`auto`
               without it, or with one `run` cannot use: a warning, the anime second
               pass is off; a path to such a file, or test weights not allowed: a
               failure, as `run` refuses them; not the published file: a warning)

A failure stops the checks that depend on it (no login without a connection).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

from modbot.config.settings import Secret, Settings
from modbot.config.units import format_duration
from modbot.errors import LemmyError, LemmyUnavailable, PolicyError, SettingsError
from modbot.lemmy.api import MAX_PAGE, NEVER_LISTED, PAGE
from modbot.lemmy.probe import (
    FAIL,
    OK,
    WARN,
    Finding,
    first_failure,
    first_problem,
    identify,
    pictrs_key,
    reach,
    url_problem,
)
from modbot.lemmy.transport import shown_url
from modbot.session import admin_rules, hides_languages, not_admin_warning

if TYPE_CHECKING:
    from modbot.config.policy import Policy
    from modbot.config.schema import ClassifierSettings
    from modbot.lemmy.api import LemmyApi
    from modbot.pipeline import Pipeline
    from modbot.store import Store

__all__ = ["Report", "before_login", "connect_first", "diagnose", "login_problem"]

log = logging.getLogger(__name__)

# What Lemmy's login errors mean for the admin (lemmy-js-client 0.19's error codes).
LOGIN_ERRORS = {
    "incorrect_login": "wrong username or password (Lemmy: incorrect_login): check "
    "LEMMY_USERNAME and LEMMY_PASSWORD (in .env, quote a password with spaces, # or $)",
    "rate_limit_error": "Lemmy refuses logins for now (rate_limit_error: a few an hour per "
    "address); wait, then try again. modbot keeps its token, so it logs in rarely",
    "site_ban": "the bot account is banned on the instance: lift the ban",
    "deleted": "the bot account was deleted",
    "email_not_verified": "the bot account's email is not verified: verify it, or have an "
    "admin mark it verified",
    "registration_application_is_pending": "the bot account's registration is not approved yet",
    "registration_denied": "the bot account's registration was denied",
    "missing_totp_token": "the bot account has two-factor authentication on: modbot "
    "cannot log in with it; turn it off for the bot account",
}


# A clock this far from Lemmy's is said: a second or two is the Date header's rounding
# and the time the answer took.
CLOCK_SKEW = timedelta(minutes=1)

# LEMMY_PASSWORD as the template `modbot init` writes has it (modbot/defaults/env.example)
TEMPLATE_PASSWORD = "change-me"

MIN_HIDDEN = 8  # characters: a shorter secret is no password Lemmy takes

SQLITE_HEADER = b"SQLite format 3\x00"  # how every SQLite database file starts

# What to configure instead of the random-weights test model.
RANDOM_WEIGHTS_FIX = (
    "To moderate, give real weights in rules.yaml: `classifier: {model: ViT-L-14, "
    "pretrained: openai}` (the Hugging Face cache, or a `checkpoint:` file of them) without "
    "`allow_random_weights`, or `classifier.remote` workers"
)


@dataclass
class Report:
    """The findings, in order."""

    findings: list[Finding] = field(default_factory=list)
    # What never shows in a line (the output is pasted into bug reports): the password,
    # the API key, the workers' token, a password written into LEMMY_URL or PICTRS_URL
    secrets: list[str] = field(default_factory=list)

    def add(self, check: str, status: str, message: str) -> Finding:
        finding = Finding(check, status, message)
        self.findings.append(finding)
        return finding

    @property
    def failed(self) -> bool:
        return any(f.failed for f in self.findings)

    def lines(self) -> list[str]:
        return [
            hide(f"{f.status:<4}  {f.check:<10}  {f.message}", self.secrets) for f in self.findings
        ]


def secrets_of(settings: Settings) -> list[str]:
    """The settings' secrets, as they could appear in a message."""
    found = [
        s.reveal()
        for s in (settings.password, settings.pictrs_api_key, settings.classifier_token)
        if s is not None
    ]
    for url in (settings.lemmy_url, settings.pictrs_url):
        password = _url_password(url or "")
        if password:  # as written in the URL, whatever its length
            found.append(f":{password}@")
    return [s for s in found if s]


def env_secrets(environ: Mapping[str, str]) -> list[str]:
    """``secrets_of`` from the environment, for when no Settings could be made of it."""
    found = [
        environ.get(name) or ""
        for name in ("LEMMY_PASSWORD", "PICTRS_API_KEY", "MODBOT_CLASSIFIER_TOKEN")
    ]
    for name in ("LEMMY_URL", "PICTRS_URL"):
        password = _url_password(environ.get(name) or "")
        if password:
            found.append(f":{password}@")
    return [s for s in found if s]


def _url_password(text: str) -> str:
    """The password written in a URL (``https://bot:pw@host``), read as written: even in
    no URL at all (urlsplit would take "bot:pw@host" for a scheme) or one too broken to
    parse (``http://bot:pw@[::1``)."""
    authority = (text.partition("://")[2] or text).partition("/")[0]
    return authority.rpartition("@")[0].partition(":")[2]


def hide(text: str, secrets: list[str]) -> str:
    """``text`` with each secret written as ***, the longest first (one so short that
    hiding it would garble the words it is part of is left: Lemmy wants 10 characters
    or more in a password)."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret.startswith(":") and secret.endswith("@"):
            text = text.replace(secret, ":***@")
        elif len(secret) >= MIN_HIDDEN:
            text = text.replace(secret, "***")
    return text


def login_problem(exc: LemmyError, username: str) -> str:
    """A login failure of ``username`` in words: what Lemmy's code means, else its
    message, each saying what to do (doctor is where "what to do" is said, so never
    "`modbot doctor` says what to do")."""
    if exc.error in LOGIN_ERRORS:
        return LOGIN_ERRORS[exc.error]
    if exc.error:  # a refusal with a code not known here (a newer Lemmy's)
        return (
            f"Lemmy refuses this account's login ({exc.error}): log in as {username!r} in "
            "Lemmy's web page to read its reason, and fix that on the account (or give "
            "modbot another account)"
        )
    status = exc.status
    if status is not None and status >= 500:
        # one login is sent: the request rate is not the cause, Lemmy (or its proxy) is
        cause = (
            "the proxy in front of Lemmy cannot reach it (Lemmy down, starting or overloaded?)"
            if status in (502, 503, 504)
            else "an error inside Lemmy"
        )
        return (
            f"Lemmy answers HTTP {status} to the login: {cause}; Lemmy's logs say more. "
            "Check that Lemmy runs, then try again"
        )
    return str(exc)


def before_login(settings: Settings, timeout: float = 5.0) -> str | None:
    """What ``modbot run`` checks before logging in (sockets only, no HTTP request):
    the URL's shape, DNS, the connection, TLS. The first problem in words, or None."""
    return first_problem(settings.lemmy_url, timeout)  # the URL's shape first


def connect_first(pipeline: Pipeline) -> None:
    """What `run`, `sweep` and `report` do before anything else on the instance (and
    before the model loads): ``before_login``, then log in and read the site (no
    change). A problem ends the command with the doctor's words for it."""
    failed = first_failure(pipeline.settings.lemmy_url, 5.0)
    if failed is not None:
        problem = hide(failed.message, secrets_of(pipeline.settings))
        # Nothing listening yet, or no answer (Lemmy, or nginx before it, starting after
        # a reboot): passing, so the daemon waits; a malformed URL, a name that does not
        # resolve, a bad certificate are the settings' and fail at once.
        kind = LemmyUnavailable if failed.check == "connect" else LemmyError
        raise kind(f"{problem} (`modbot doctor` checks every step)")
    try:
        site = pipeline.client.check_session()
    except LemmyUnavailable:
        raise
    except LemmyError as exc:
        said = login_problem(exc, pipeline.settings.username)
        raise LemmyError(f"{said} (`modbot doctor` checks every step)") from exc
    if site.account is not None and site.account.banned:
        # every action would be refused (and the admin's reads: the media list), each
        # one recorded failed and tried again every cycle
        raise LemmyError(banned_account(pipeline.settings.username))


def banned_account(username: str) -> str:
    return (
        f"the bot account {username!r} is banned on the site: Lemmy 1.0 lets it log in and "
        "read, and refuses every action it sends (site_ban); lift the ban (an admin's "
        "Banned users page, or the person's page) or give modbot another admin account"
    )


def diagnose(
    settings: Settings | None = None,
    *,
    rules: str | None = None,
    timeout: float = 10.0,
    load_settings: Callable[[], Settings] = Settings.from_env,
) -> Report:
    """Every check, in order (see the module's docstring)."""
    report = Report()
    if settings is None:
        try:
            settings = load_settings()
        except SettingsError as exc:
            # The message may quote a setting (LEMMY_URL as written, a password in it)
            report.secrets = env_secrets(os.environ)
            report.add("settings", FAIL, str(exc))
            # What needs no instance is still checked: one run of doctor says it all
            env = os.environ
            state = Path(env.get("MODBOT_STATE") or "modbot.sqlite3")  # as Settings
            _state(state, report)
            # ... with the variables as set (the settings line says what is wrong): not
            # "PICTRS_URL and PICTRS_API_KEY are not set" of set ones, nor the workers
            # asked without the token set for them
            token = env.get("MODBOT_CLASSIFIER_TOKEN")
            _policy_checks(
                report,
                _rules(rules),
                state_path=state,
                pictrs=bool((env.get("PICTRS_URL") or "").strip() and env.get("PICTRS_API_KEY")),
                token=Secret(token) if token else None,
            )
            return report
    report.secrets = secrets_of(settings)
    unedited = _template_values(settings)
    if unedited:
        report.add("settings", FAIL, "; ".join(unedited.values()))
    else:
        report.add("settings", OK, f"LEMMY_URL {settings.lemmy_url}, account {settings.username}")
    _state(Path(settings.state_path), report)
    rules_checked = _rules(rules)
    policy = rules_checked[1]
    pinned = policy.lemmy.api if policy is not None else "auto"
    is_v4 = None
    if "LEMMY_URL" not in unedited:  # the template's host is no instance: nothing to reach
        is_v4 = _instance(
            settings,
            report,
            timeout,
            admin_rules=admin_rules(policy),
            api=pinned,
            login="LEMMY_PASSWORD" not in unedited,
        )
    _pictrs(settings, report, timeout, is_v4=is_v4)
    _policy_checks(
        report,
        rules_checked,
        state_path=Path(settings.state_path),
        pictrs=settings.can_purge_by_alias,
        token=settings.classifier_token,
    )
    return report


def _policy_checks(
    report: Report,
    rules_checked: tuple[Finding, Policy | None],
    *,
    state_path: Path,
    pictrs: bool,
    token: Secret | None,
) -> None:
    """The rules, the feeds' copies kept in ``state_path``, the schedule and the
    classifier: what needs no instance. ``pictrs``: the settings have pict-rs' internal
    API (a store sweep can run); ``token``: the classifier workers' token."""
    rules_finding, policy = rules_checked
    feeds: list[Finding] = []
    if policy is not None:
        if policy.feeds:
            # the copies the bot and the gate use: in the rules' summary, and one line each
            feeds = _feeds(state_path, policy)
        # the store sweep is said as it will be: these settings have pict-rs' key or not
        summary = policy.summary(pictrs=pictrs)
        # what check-rules prints and `run` logs at start (a rule that can never act, one
        # another always beats): said here too, where an admin checks before a start
        said = "".join(f"; {w}" for w in policy.warnings)
        rules_finding = Finding("rules", WARN if said else OK, f"{policy.path}: {summary}{said}")
    report.findings.append(rules_finding)
    report.findings.extend(feeds)
    if policy is not None:
        report.findings.append(_schedule(pictrs, policy))
        _classifier(token, policy, report)


def _schedule(pictrs: bool, policy: Policy, now: datetime | None = None) -> Finding:
    """What `modbot run` runs and when, as its daemon will schedule it: a warning when
    the rules ask a store sweep these settings cannot run (no pict-rs' internal API)."""
    from modbot.config.schema import cron_trigger

    now = now or datetime.now(UTC)

    def next_at(cron: str) -> str:
        at = cron_trigger(cron, UTC).get_next_fire_time(None, now)
        return f"next {at:%a %Y-%m-%d %H:%M} UTC" if at else "never comes"

    s = policy.schedule
    said = [f"poll every {format_duration(s.poll_every)}"]
    if s.sweep_cron:
        back = format_duration(s.sweep_since) if s.sweep_since else "over everything"
        said.append(f"sweep '{s.sweep_cron}' UTC back {back} ({next_at(s.sweep_cron)})")
    else:
        said.append("no scheduled sweep")
    if not s.store_sweep_cron:
        said.append("no store sweep")
    elif pictrs:
        said.append(f"store sweep '{s.store_sweep_cron}' UTC ({next_at(s.store_sweep_cron)})")
    else:
        said.append(
            f"the store sweep '{s.store_sweep_cron}' UTC will not run: PICTRS_URL and "
            "PICTRS_API_KEY are not set (it walks pict-rs' whole store through its "
            "internal API: uploads never posted, files Lemmy no longer lists); set them, "
            "or schedule.store_sweep_cron: off in rules.yaml to say it is meant"
        )
        return Finding("schedule", WARN, "; ".join(said))
    return Finding("schedule", OK, "; ".join(said))


def _template_values(settings: Settings) -> dict[str, str]:
    """The settings still as the template `modbot init` writes (.env.example) has them,
    each with what to do: the name -> the words."""
    where = "in .env (or the file --env-file or MODBOT_ENV_FILE names)"
    found = {}
    try:
        host = (urlsplit(settings.lemmy_url).hostname or "").lower()
    except ValueError:  # no URL at all: the url check says so
        host = ""
    if host == "example" or host.endswith(".example"):  # RFC 2606: never an instance
        found["LEMMY_URL"] = (
            f"LEMMY_URL is still the template's {settings.lemmy_url}: set your instance's "
            f"address {where}"
        )
    if settings.password.reveal() == TEMPLATE_PASSWORD:
        found["LEMMY_PASSWORD"] = (
            "LEMMY_PASSWORD is still the template's placeholder: set the bot account's "
            f"password {where}; the login is not tried with it (Lemmy allows a few "
            "logins an hour)"
        )
    return found


def _rules(rules: str | None) -> tuple[Finding, Policy | None]:
    """The rules file's finding and the policy (None when it is not valid)."""
    from modbot.config.policy import load_policy, resolve_rules_path

    path = resolve_rules_path(rules)
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        problems = "; ".join(map(str, exc.problems))
        return Finding("rules", FAIL, f"{path} is not valid: {problems}"), None
    return Finding("rules", OK, f"{path}: {policy.summary()}"), policy


class KeptFeeds:
    """The feeds' copies and cursors of a state file, as ``Store.feed_copy`` and
    ``Store.get_cursor`` give them, read without writing anything, not even the -wal and
    -shm files a read-only connection leaves beside a WAL database: with no -wal file
    (no process has the state open, and all of it is in the file) it is opened as
    immutable; with one (the bot or the gate has it open), read-only, through it.
    Raises ``sqlite3.Error``."""

    def __init__(self, path: Path) -> None:
        self.db: sqlite3.Connection | None = None
        if not path.exists() or path.stat().st_size == 0:
            return  # no state yet (or one being made this very moment): nothing kept
        live = Path(f"{path}-wal").exists()
        uri = path.resolve().as_uri() + ("?mode=ro" if live else "?mode=ro&immutable=1")
        self.db = sqlite3.connect(uri, uri=True, timeout=30)
        self.db.row_factory = sqlite3.Row
        names = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master")}
        if not {"feeds", "cursors"} <= names:
            self.close()  # a state from before feeds: none kept

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None

    def feed_copy(self, name: str, *, body: bool = True) -> dict | None:
        if self.db is None:
            return None
        columns = "*" if body else "name, generated_at, fetched_at, etag, last_modified"
        row = self.db.execute(f"SELECT {columns} FROM feeds WHERE name = ?", (name,)).fetchone()
        return dict(row) if row else None

    def get_cursor(self, name: str) -> str | None:
        if self.db is None:
            return None
        row = self.db.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])


def _feeds(path: Path, policy: Policy, now: datetime | None = None) -> list[Finding]:
    """Each subscribed feed as the bot would start with it: the copy kept in the state
    file (loaded into ``policy``'s feeds, so its summary shows them) or, with none, the
    last refusal. Reads the state file only."""
    from modbot.feeds import FeedError, check_times
    from modbot.subscriptions import LAPSES, load_kept, refusal

    now = now or datetime.now(UTC)
    try:
        kept = KeptFeeds(path)
        try:
            load_kept(cast("Store", kept), policy)
            copies = {name: kept.feed_copy(name, body=False) for name in policy.feeds}
            refused = {name: refusal(cast("Store", kept), fl) for name, fl in policy.feeds.items()}
        finally:
            kept.close()
    except sqlite3.Error as exc:
        return [
            Finding(
                "feeds",
                WARN,
                f"cannot read the feeds' copies kept in {path} ({exc}): see the state check",
            )
        ]
    found = []
    for name, fl in policy.feeds.items():
        every = format_duration(fl.settings.every)
        said = f"{name} ({fl.use})"
        copy, verified, last = copies[name], fl.verified, refused[name]
        why = ""  # the last try's refusal, kept until the feed verifies again
        if last is not None:
            at = datetime.fromtimestamp(last["at"], UTC)
            when = f"{at:%Y-%m-%d %H:%M} UTC ({_ago(now.timestamp() - last['at'])} ago"
            why = (
                f"{when}): {last['why']}"
                if last["why"]  # a state from before the reasons were kept: none
                else f"{when}; the log of `modbot run` or the gate says why)"
            )
        if verified is not None and copy is not None:
            feed = verified.feed
            checked = _ago(now.timestamp() - float(copy["fetched_at"]))
            text = (
                f"{said}: copy of {feed.generated_at:%Y-%m-%d %H:%M} UTC kept, "
                f"{len(feed.entries):,} entries ({len(fl):,} used), checked {checked} ago "
                f"(every {every})"
            )
            if why:
                text += f"; refused at the last try, {why}"
            try:
                check_times(feed.generated_at, None, fl.settings.max_age, now)
            except FeedError as exc:
                # a known-bad copy stays in use; an allow-list or classified one that old
                # is not (``FeedList.lapsed``): it would spare files on a word not renewed
                lapsed = LAPSES.get(fl.use)
                still = f"not used: {lapsed}" if lapsed else "it is still used"
                found.append(Finding("feeds", WARN, f"{text}; {exc} ({still}: ask its admins)"))
                continue
            if why:
                found.append(
                    Finding("feeds", WARN, f"{text}; the copy kept is still used meanwhile")
                )
                continue
            age = _ago((now - feed.generated_at).total_seconds())
            max_age = format_duration(fl.settings.max_age)
            found.append(Finding("feeds", OK, f"{text}; {age} old (max_age {max_age})"))
        elif copy is not None:  # kept, but the key in rules.yaml does not verify it
            found.append(
                Finding(
                    "feeds",
                    WARN,
                    f"{said}: the copy kept ({copy['generated_at']}) does not verify with "
                    "the key in rules.yaml (the publisher's new key?): none of it is used "
                    "until the feed is fetched and verifies again"
                    + (f"; refused at the last try, {why}" if why else ""),
                )
            )
        elif last is not None:
            found.append(
                Finding(
                    "feeds",
                    WARN,
                    f"{said}: no copy kept, none of it is used: refused {why}, tried again "
                    f"every {every}. `modbot feed verify URL --key KEY` says what is wrong "
                    "with it now",
                )
            )
        else:
            found.append(
                Finding(
                    "feeds",
                    OK,
                    f"{said}: no copy kept yet: `modbot run` (or the gate) fetches it at its "
                    "next cycle",
                )
            )
    return found


def _ago(seconds: float) -> str:
    """A time ago, to the minute (a clock a little behind: under a minute)."""
    minutes = int(seconds // 60)
    return format_duration(timedelta(minutes=minutes)) if minutes > 0 else "under 1m"


def _state(path: Path, report: Report) -> None:
    """The state file as `modbot run` will open it (``modbot.store.Store``), looked at
    only: a file that is not there is not created, one that is is opened read-only."""
    from modbot.store import _open_problem, database_problem

    problem = _open_problem(path)
    if problem:
        report.add("state", FAIL, problem)
        return
    if not path.exists():
        # `Store` makes the missing folders: the nearest one that is there must take them.
        folder = path.absolute().parent
        while not folder.exists():
            folder = folder.parent
        if not folder.is_dir():
            report.add(
                "state",
                FAIL,
                f"the state file's path runs through {folder}, a file: fix MODBOT_STATE",
            )
        elif not os.access(folder, os.W_OK | os.X_OK):
            report.add(
                "state",
                FAIL,
                f"modbot (uid {os.getuid()}) cannot create {path}: {folder} is not "
                "writable; make it writable or set MODBOT_STATE elsewhere",
            )
        else:
            report.add("state", OK, f"no state file yet: `modbot run` creates {path}")
        return
    # Its header, not an SQLite connection: even a read-only one leaves -wal and -shm
    # files beside a WAL database, and doctor changes nothing.
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except OSError as exc:
        report.add("state", FAIL, f"cannot read the state file {path}: {exc.strerror}")
        return
    if head and head != SQLITE_HEADER:
        report.add(
            "state",
            FAIL,
            database_problem(path, sqlite3.DatabaseError("file is not a database")),
        )
        return
    report.add("state", OK, f"{path}: an SQLite file modbot can read and write")


def _kept_login(client: LemmyApi, settings: Settings) -> tuple[Store | None, bool]:
    """The state file, read-only, when it keeps the bot's login: its token taken up, and
    Lemmy's holds with it (a login refused for its rate), as `modbot run` takes them up.
    Each doctor run would otherwise spend one of the few logins Lemmy takes an hour (0.19:
    3 by default), and the first `run` after a few be refused for up to an hour. Nothing
    is written: a login doctor makes is not kept. The store (None without a state to
    read) and whether it kept a token."""
    from modbot.session import keep_login
    from modbot.store import Store

    path = Path(settings.state_path)
    if not path.is_file():
        return None, False
    try:
        store = Store(path, read_only=True)
    except Exception as exc:  # the state check says what is wrong with the file
        log.debug("the state's login not read: %s", exc)
        return None, False
    try:
        keep_login(client, store, settings, write_token=False, write_holds=False)
    except Exception as exc:
        log.debug("the state's login not read: %s", exc)
        store.close()
        return None, False
    return store, bool(getattr(client, "logged_in", False))


def _instance(
    settings: Settings,
    report: Report,
    timeout: float,
    admin_rules: list[str],
    api: str,
    login: bool = True,
) -> bool | None:
    """Whether the instance is Lemmy 1.0 (API v4), once its version is known; None when
    it is not. ``login``: False stops before the login
    (the password is the template's)."""
    problem = url_problem(settings.lemmy_url)
    if problem:
        report.add("url", FAIL, problem)
        return None
    for finding in reach(settings.lemmy_url, timeout):
        report.findings.append(finding)
        if finding.failed:
            return None
    from modbot.lemmy import API_VERSIONS, connect

    before = _now()
    lemmy = identify(settings.lemmy_url, timeout, speaks=tuple(API_VERSIONS), pinned=api)
    after = _now()
    report.findings.append(lemmy)
    if lemmy.failed:
        return None
    clock = _clock(settings.lemmy_url, lemmy.date, before, after)
    if clock is not None:
        report.findings.append(clock)
    client = connect(settings, requests_per_minute=60, timeout=timeout, read_only=True, retries=0)
    is_v4 = client.api_version == "v4"
    if not login:
        client.close()
        return is_v4
    store, token_kept = _kept_login(client, settings)
    try:
        site = client.check_session()
    except LemmyError as exc:
        said, own = login_problem(exc, settings.username), f"login as {settings.username!r}"
        # the client's own messages name the account already
        report.add("login", FAIL, said if said.startswith(own) else f"{own}: {said}")
        return is_v4
    finally:
        client.close()
        if store is not None:
            store.close()
    account = site.account
    if account is None:
        report.add("login", FAIL, "Lemmy answers as for an anonymous visitor after the login")
        return is_v4
    if account.banned:
        report.add("login", FAIL, banned_account(settings.username))
        return is_v4
    kept = (
        " with the login the state keeps: no login sent (Lemmy allows a few an hour; the "
        "password is tried when Lemmy asks for a login again)"
        if token_kept and getattr(client, "logins", 0) == 0
        else ""
    )
    report.add(
        "login", OK, f"logged in as {settings.username!r} (person {account.person_id}){kept}"
    )
    if account.admin:
        report.add("admin", OK, "the bot account is an admin")
    else:  # as `modbot run` warns it: a failure when a rule asks what Lemmy will refuse
        said = not_admin_warning(settings.username, admin_rules)
        report.add("admin", FAIL if admin_rules else WARN, said)
    off = [
        k for k in ("show_nsfw", "show_bot_accounts", "show_read_posts") if not getattr(account, k)
    ]
    hidden = [f"{', '.join(off)} off"] if off else []
    if hides_languages(site):
        hidden.append("discussion_languages: not every language of the site")
    if hidden:
        # 0.19's GET /user (the posts a site ban removed) follows show_nsfw: no override
        user_nsfw = (
            "; on Lemmy 0.19 that includes the NSFW posts a site ban removed (GET /user "
            "lists them only with show_nsfw on, no query overrides it)"
            if not is_v4 and "show_nsfw" in off
            else ""
        )
        report.add(
            "account",
            WARN,
            f"the bot account's settings hide content from it ({'; '.join(hidden)}): "
            f"`modbot run` changes them at start; a dry run cannot and may miss content"
            f"{user_nsfw}",
        )
    else:
        report.add("account", OK, "the bot account's settings hide nothing from it")
    if getattr(client, "messages_off", False):  # 1.0's private_messages_enabled (read at login)
        report.add(
            "messages",
            WARN,
            "the bot account has private messages turned off (private_messages_enabled): "
            "Lemmy refuses every message it sends (couldnt_create), the admins' notices "
            "included; `modbot run` turns them on at start, a dry run cannot",
        )
    if is_v4 and account.bot_account:
        # Lemmy 1.0's notification list (the inbox) and its unread count leave out what a
        # bot account sent for a reader with show_bot_accounts off; modbot cannot read
        # the admins' own settings, so it says what that means
        report.add(
            "notices",
            WARN,
            "the bot account is marked a bot account: Lemmy 1.0 leaves its private messages "
            "out of the inbox (and the unread count) of every admin whose settings hide bot "
            'accounts, so such an admin never sees modbot\'s notices; untick "Bot account" '
            'in its settings, or have each admin tick "Show bot accounts"',
        )
    return is_v4


def _now() -> datetime:
    """This machine's clock (a seam: the tests set it wrong)."""
    return datetime.now(UTC)


def _clock(url: str, theirs: datetime | None, before: datetime, after: datetime) -> Finding | None:
    """This machine's clock against Lemmy's (``theirs``: the Date header of the nodeinfo
    answer ``identify`` read between ``before`` and ``after``, this clock's readings):
    a ban's end is this clock plus its duration, and the polls' window, the feeds' ages
    and `modbot healthcheck` read it too. None when Lemmy's side says no time."""

    if theirs is None:
        return None
    # the header is to the second, taken between our two readings
    skew = (before + (after - before) / 2) - theirs
    if abs(skew) <= CLOCK_SKEW:
        return Finding("clock", OK, "this machine's clock agrees with Lemmy's (within 1m)")
    way = "ahead of" if skew > timedelta(0) else "behind"
    off = timedelta(minutes=round(abs(skew).total_seconds() / 60))  # the header's second
    return Finding(
        "clock",
        WARN,
        f"this machine's clock is about {format_duration(off)} {way} the time "
        f"{shown_url(url)} answers with ({theirs:%Y-%m-%d %H:%M:%S} UTC): a temporary ban "
        "ends at this clock's time plus its duration, and the polls' window, feeds' ages "
        "and `modbot healthcheck` go by it. Set the clocks of both machines by NTP "
        "(`timedatectl set-ntp true`)",
    )


def _never_listed(is_v4: bool | None) -> str:
    """What Lemmy's listings keep from a sweep, which only pict-rs' store reaches."""
    said = "; ".join(NEVER_LISTED)
    if not is_v4:  # 0.19 (or not known): its page-numbered listings stop at page 100
        said += (
            f"; {'on 0.19 ' if is_v4 is None else ''}uploads past the media list's "
            f"newest {MAX_PAGE * PAGE}, and posts removed before the modlog's newest "
            f"{MAX_PAGE * PAGE} removals"
        )
    return f"Lemmy's listings never show {said}"


def _pictrs(settings: Settings, report: Report, timeout: float, is_v4: bool | None = None) -> None:
    """``is_v4``: the instance is Lemmy 1.0 (True), 0.19 (False), or unknown
    (None: it could not be asked)."""
    unlisted = _never_listed(is_v4)
    if not settings.pictrs_url or not settings.pictrs_api_key:
        unset = "PICTRS_URL and PICTRS_API_KEY are not set"
        on_019 = (
            "purge_image can only delete an upload by its delete token; an image in a "
            "post or comment stays in pict-rs"
        )
        on_10 = (
            "purge_image is recorded not_possible: Lemmy's own DELETE /api/v4/image would "
            "purge every upload of the same file unchecked (an admin's too); set them for "
            "pict-rs' purge, which asks first"
        )
        store = (
            f". {unlisted}: `modbot sweep --store` walks pict-rs' whole store, their "
            "images included, once these are set"
        )
        if is_v4:
            report.add("pictrs", WARN, f"{unset}: {on_10}{store}")
        elif is_v4 is None:
            report.add("pictrs", WARN, f"{unset}: on Lemmy 0.19 {on_019}; on 1.0 {on_10}{store}")
        else:
            report.add("pictrs", WARN, f"{unset}: {on_019}{store}")
        return
    problem = url_problem(settings.pictrs_url, "PICTRS_URL")
    if problem:
        report.add("pictrs", FAIL, problem)
        return
    for finding in reach(settings.pictrs_url, timeout, name="PICTRS_URL"):
        if finding.failed:
            report.add("pictrs", FAIL, f"PICTRS_URL: {finding.message}")
            return
    key = pictrs_key(settings.pictrs_url, settings.pictrs_api_key.reveal(), timeout)
    if not key.failed:
        key = replace(
            key,
            message=f"{key.message}. {unlisted}: `modbot sweep --store` walks pict-rs' "
            "whole store, their images included",
        )
    report.findings.append(key)


def _sizes_sent(policy: Policy) -> list[tuple[int, str]]:
    """(bytes, setting) of the largest image each command sends a remote classifier,
    largest first: the bot's ``fetch.max_bytes``, and the gate's ``gate.max_bytes`` when
    the rules use the gate (a rule of ``type: incoming``, or ``gate:`` settings)."""
    sizes = [(policy.fetch.max_bytes, "fetch.max_bytes")]
    if policy.gate.model_fields_set or any("incoming" in (r.if_.type or ()) for r in policy.rules):
        sizes.append((policy.gate.max_bytes, "gate.max_bytes"))
    return sorted(sizes, key=lambda size: -size[0])


def _classifier(token: Secret | None, policy: Policy, report: Report) -> None:
    from modbot.classify import build_engine, engine_kind

    if engine_kind(policy) != "local":
        from classifier.remote import RemoteEngine

        # the largest image each command sends the workers: the bot's, and the gate's when
        # the rules use it; a worker under either refuses those images (each skipped)
        sizes = _sizes_sent(policy)
        try:
            engine = build_engine(policy, token, largest_image=sizes[0])
        except Exception as exc:  # the engine's own errors say what is wrong
            report.add("classifier", FAIL, str(exc))
            return
        short: dict[str, None] = {}  # what each worker refuses, in order, once each
        try:
            # build_engine asked each worker already, but keeps only what it learnt:
            # once more for what each said (GET /v1/info, which changes nothing), and
            # against the smaller size (a worker under both is told of both)
            if isinstance(engine, RemoteEngine):
                short = dict.fromkeys(engine.size_limits_short.values())
                engine.size_limits_short.clear()
                engine.largest_image = sizes[-1]
            said = engine.check() if hasattr(engine, "check") else {}
        except Exception as exc:
            engine.close()
            report.add("classifier", FAIL, str(exc))
            return
        version = getattr(engine, "concept_version", None)
        random, model = engine.random_weights, getattr(engine, "model", None)
        short.update(dict.fromkeys(getattr(engine, "size_limits_short", {}).values()))
        engine.close()
        silent = [f"{url}: {what}" for url, what in said.items() if " concept version " not in what]
        if version is None:
            report.add(
                "classifier",
                FAIL,
                f"no classifier worker answers as `modbot worker` does ({'; '.join(silent)}): "
                "`modbot run` would record every image as classifier_unavailable. Check "
                "classifier.remote's URLs (a worker's address, e.g. http://gpu:8095) and "
                "that the workers run",
            )
            return
        missing = f"; these do not answer: {'; '.join(silent)}" if silent else ""
        # a worker that refuses images the bot sends it: said with whatever else is
        missing += "".join(f"; {what}" for what in short)
        if random:
            report.add(
                "classifier",
                WARN,
                f"the remote classifier's workers answer, but run {model or 'a model'} with "
                "RANDOM WEIGHTS (the test model): every verdict is meaningless, so no "
                "classifier rule can be trusted. The workers' admin must start `modbot "
                f"worker` with real weights (ViT-L-14/openai){missing}",
            )
            return
        if silent or short:
            report.add("classifier", WARN, f"some remote classifier workers answer{missing}")
            return
        report.add("classifier", OK, "the remote classifier's workers answer")
        return
    from classifier.model import (
        ModelError,
        ModelSpec,
        WeightsNotFound,
        is_random_checkpoint,
        locate_weights,
    )

    c = policy.classifier
    spec = ModelSpec(
        name=c.model,
        pretrained=c.pretrained,
        checkpoint=policy.checkpoint_path,
        device=c.device,
        allow_random_weights=c.allow_random_weights,
    )
    pending = ""  # the weights the first start downloads: what it will say of them
    try:
        weights = locate_weights(spec)
    except WeightsNotFound as exc:
        if spec.checkpoint is not None or not spec.pretrained:  # a file: nothing downloads it
            report.add("classifier", FAIL, str(exc))
            return
        endpoint, problem = _download_problem()
        if problem:
            report.add("classifier", FAIL, f"{exc} ({problem})")
            return
        weights, pending = (
            None,
            f"{c.model}/{c.pretrained} weights are not in the Hugging Face cache yet: "
            f"{endpoint} answers from here, so the first start of `modbot run`, `report` or "
            "`sweep` downloads them (ViT-L-14/openai: about 1.7 GB, minutes) before its "
            "first image",
        )
    except ModelError as exc:
        report.add("classifier", FAIL, str(exc))
        return
    try:
        random = not pending and (weights is None or is_random_checkpoint(weights, spec))
    except ModelError as exc:
        report.add("classifier", FAIL, str(exc))
        return
    from classifier.deepdanbooru import default_locations, find_weights, how_to_get

    try:  # a path that is not there stops `run` (`auto` without the file only warns)
        danbooru = find_weights(policy.deepdanbooru_setting)
    except ModelError as exc:
        report.add("classifier", FAIL, f"classifier.deepdanbooru: {exc}")
        return
    anime, anime_status = "", OK
    if danbooru is not None:
        anime_status, anime = _deepdanbooru_file(
            danbooru, policy.deepdanbooru_setting, c.allow_random_weights
        )
        if anime_status == FAIL:
            report.add("classifier", FAIL, anime)
            return
    elif policy.deepdanbooru_setting == "auto" and not random:
        # as `run` warns at start: anime images then get CLIP's verdict alone
        anime = (
            f"; DeepDanbooru weights not found ({', '.join(map(str, default_locations()))}): "
            "the anime second pass is OFF, images CLIP calls anime get CLIP's verdict "
            f"only. {how_to_get()} To mean it: classifier.deepdanbooru: off"
        )
    try:
        runs = _where_it_runs(c)
    except ModelError as exc:  # `run` would stop at the model's load
        report.add("classifier", FAIL, f"classifier.device: {exc}")
        return
    if random:
        where = f"{weights} holds" if weights else "no weights are asked for:"
        report.add(
            "classifier",
            WARN if c.allow_random_weights else FAIL,
            f"{c.model}: {where} RANDOM WEIGHTS (the test model): every verdict is "
            f"meaningless, so no classifier rule can be trusted. {RANDOM_WEIGHTS_FIX}"
            + ("" if c.allow_random_weights else "; `modbot run` refuses to start as it is")
            + f"; {runs}",
        )
        return
    if pending:
        report.add("classifier", WARN, f"{pending}; {runs}{anime}")
        return
    report.add(
        "classifier",
        WARN
        if anime_status == WARN or (danbooru is None and policy.deepdanbooru_setting == "auto")
        else OK,
        f"{c.model}/{c.pretrained or 'checkpoint'} weights at {weights}; {runs}{anime}",
    )


def _deepdanbooru_file(path: Path, setting: str, allow_random: bool) -> tuple[str, str]:
    """What `run` will make of the DeepDanbooru weights file found at ``path``, as
    ``load_deepdanbooru`` would (without building the network): the status and text for
    the classifier's line (a warning: also where `auto` passes the file over). Reads the
    whole file once for its SHA-256, as `run` does."""
    from classifier.deepdanbooru import DeepDanbooruError, describe_deepdanbooru

    try:  # by its path: the reason `auto` passes the file over is raised, not swallowed
        fingerprint = describe_deepdanbooru(path)
    except DeepDanbooruError as exc:
        said = " ".join(str(exc).split())  # torch's reasons run over several lines
        if setting != "auto":
            return FAIL, f"classifier.deepdanbooru: {said}; {_REFUSES}"
        return (
            WARN,
            f"; the DeepDanbooru weights classifier.deepdanbooru: auto found cannot be used: "
            f"{said} So `modbot run` starts, but the anime second pass is OFF: images CLIP "
            "calls anime get CLIP's verdict only. Replace the file, or set "
            "classifier.deepdanbooru: off to mean it",
        )
    identity = (fingerprint or "").partition("@")[0]
    if identity == "deepdanbooru/random-weights":
        if not allow_random:  # `run` stops on these, under `auto` too
            return (
                FAIL,
                f"classifier.deepdanbooru: {path} holds random DeepDanbooru weights (tests "
                f"only): give the real ones, or set classifier.deepdanbooru: off; {_REFUSES}",
            )
        return WARN, f"; DeepDanbooru at {path}: RANDOM WEIGHTS, its tags mean nothing"
    if identity != "deepdanbooru/resnet_custom_v3":  # `run` warns of it at start
        return (
            WARN,
            f"; DeepDanbooru at {path}, not the published file (sha256 differs): not the "
            "reference's model",
        )
    return OK, f"; DeepDanbooru at {path}"


_REFUSES = "`modbot run` refuses to start as it is"


def _download_problem() -> tuple[str, str | None]:
    """The Hugging Face endpoint, and why the model's first load could not download
    weights missing from the cache (the checks ``classifier.model`` makes before it
    tries: HF_HUB_OFFLINE, a TCP connection), or None. Sends no request."""
    from classifier.model import _offline, _reachable

    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    if _offline():
        return endpoint, "HF_HUB_OFFLINE is set: nothing is downloaded"
    if not _reachable(endpoint):
        return endpoint, f"{endpoint} cannot be reached from here: the first start cannot either"
    return endpoint, None


def _where_it_runs(c: ClassifierSettings) -> str:
    """Where the model will run and where its images are decoded (threads, or how many
    processes: ``classifier.decode_processes``), as `run` will start them; raises
    ``ModelError`` for a device this machine does not have. Loads no model."""
    import torch

    from classifier.engine import default_decode_processes
    from classifier.model import resolve_device

    device = resolve_device(c.device)  # the check the model's load makes
    if device.type == "cuda":
        where = f"on the GPU {device} ({torch.cuda.get_device_name(device)}) (device: {c.device})"
    elif device.type == "cpu":
        gpu = ", no GPU here" if c.device == "auto" else ""
        where = f"on the CPU (device: {c.device}{gpu})"
    else:
        where = f"on {device} (device: {c.device})"
    auto = not isinstance(c.decode_processes, int)
    processes = default_decode_processes(device.type) if auto else int(c.decode_processes)
    if processes == 0:
        return f"{where}, decoding in threads"
    each = " (auto: one per core, up to 32)" if auto else ""
    return f"{where}, decoding in {processes} process{'es' * (processes != 1)}{each}"
