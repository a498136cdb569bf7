"""`modbot undo`: restore what the bot removed and lift its bans."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from modbot.cli.audit import add_filters, chosen, open_state

HELP = """\
Undo what modbot did for the chosen decisions: restore the posts and comments it
removed, lift the bans it placed. Choose decisions by id (from `modbot audit`), or by
the same filters as `modbot audit` (a rule, a run, a person, an item, a time window).

Without --yes nothing is changed: it lists what would be undone and what cannot be,
so check that first, then run the same command with --yes. The preview sends Lemmy
nothing that changes anything and only reads the state file (nothing written to it: a
killed daemon's -wal, the file's mode and the bot's saved login are left as they are;
a state on a read-only mount is read too).

What cannot be undone, and is said so: a purge or a deleted image (purge_item,
purge_image, delete_image: Lemmy and pict-rs keep no copy), a report (resolve it in
Lemmy), a private message. A post or comment the bot purged (purge_item, by this
decision or another) is not restored: it is listed as cannot undo, nothing is sent,
and it is no failure (the rest of the decision's undo is done). A ban with
remove_data removed the person's posts and comments; lifting it leaves them removed
unless --restore-content, which asks Lemmy 1.0 to restore every post and comment of
theirs (Lemmy restores them all, also those removed for other reasons; uploads the ban
deleted are gone). On Lemmy 0.19 --restore-content is refused, nothing sent (exit 2):
0.19's unban with remove_data removes all their posts and comments instead.

A post or comment is restored only by the decision that removed it: a stored file's
decision (sweep --store) leaves a post showing the file that another decision had
removed already (undo that one).

A ban is lifted only while it is the bot's: not when the bot's ban ran out (a ban
Lemmy shows then is someone else's), not when the bot banned the person again for
another item since (undo that decision), not when Lemmy shows them banned otherwise
than the bot banned them (an admin banned them again: lift that in Lemmy), and not
when Lemmy shows them not banned any more: "already unbanned by hand", nothing sent,
recorded as done, and the bot's ban counts as lifted (another offence bans anew); so
is one whose newest modlog line is the bot's own unban that the state file has no
record of (a state restored from a backup taken before that undo): "already unbanned
by the bot". A
community ban's end is not shown by Lemmy: only the first two are checked for it, and
whether it is still in place is read on the decision's post or comment (its author's
ban only) or in the modlog. Nor is a ban lifted while a
later decision, not undone, asked for it too: the person offended again while banned
(that decision's ban says "already done"). Undoing the first decision alone would leave
that offence unpunished: the ban stays, said so with the decisions' ids ("decision #13
(post:40) asked for this ban too ... modbot undo 12 13"); undo them together to lift it.
Such a decision about an image with no SHA-256 (a dead link: nothing was downloaded) is
found by reading every decision recorded since the ban: once per undo, before anything
is sent, said on stderr (a while on a large audit; the daemon records beside it).
A decision about the same file as one undone (the upload of the post's image) is the
same offence: it holds nothing back. One the daemon is recording at that very moment
holds the ban too (said with its item: run undo again in a moment, it names the
decision). A ban the daemon claimed anew for another item and was killed while sending
holds the unban back until the daemon's start settles it (did Lemmy get it?): said so;
start the daemon, then run undo again.
Such a later decision counts as undone once `modbot undo --yes` ran on it (`undo of #ID`
in the audit), whatever that undo found (left as it is, not possible, failed): the admin
judged it wrong, so it holds the ban no more.

Before each undo (and in the preview) it asks Lemmy's modlog who acted last on the post,
comment or person, and undoes only while that is the bot's own removal or ban (or the
modlog has no line on it at all: no one is shown acting after the bot). A
moderator or admin who acted after the bot (restored the post and removed it again,
lifted the ban and banned again: a permanent ban placed again looks the same otherwise)
made their own decision: it is left as it is, said ("moderator X removed post 12 again
at T ... left as it is"), recorded in the audit, nothing sent, and it is no failure. A
restore or unban since: undone already, nothing sent. When the modlog cannot be read
(an error, or Lemmy hides who acted from the bot's account: on Lemmy 1.0 only admins
see it; a login Lemmy dropped, which reads on as anonymous, is renewed and the modlog
read again first), nothing is undone blind: that undo fails, said why; run it again once the
modlog can be read, or with --no-modlog-check (then a moderator's later removal or ban
may be undone: check Lemmy's modlog yourself first; a post or comment Lemmy shows not
removed, or a ban it shows lifted, is still left as it is: "already restored by hand").

A post or comment no longer on Lemmy (an admin purged it, it went with its community or
author) or deleted by its author (Lemmy restores no deleted comment) cannot be
restored: listed as cannot undo with why, recorded, and never tried again.

Each undo is done once, ever (recorded in the state file before it is sent, like the
bot's own actions; a killed undo, or one whose answer was lost (a proxy's page: it
failed), is finished by the next after asking Lemmy: found done, not sent again; the
preview says "would record as done"), and
listed by `modbot audit` as `undo of #ID` (`undo of #ID (nothing undone)` when every
undo of it was left as it is, not possible or failed). The bot never removes an undone
item again; an undone ban counts as one that ran out (another offence bans anew). It
runs beside the daemon (undos take their own lock, MODBOT_STATE.undo.lock): right
before a ban is lifted the state file is read again, and a ban the daemon placed anew
meanwhile (the bot's ran out, the person offended again: another decision's) is not
lifted, said so. Needs LEMMY_URL,
LEMMY_USERNAME and LEMMY_PASSWORD (the bot's account) with --yes; the preview asks Lemmy
with them too (reads only), and without them (or when Lemmy cannot be reached, or for
the rest once it stops answering) lists what the state file says, saying that Lemmy was
not asked.

With --yes (and in the preview) it talks to Lemmy as `modbot run` does, with the
lemmy: settings of the rules file (--rules, else $MODBOT_RULES, else ./rules.yaml):
lemmy.api (v3, v4 or auto), requests_per_minute, timeout. Only that section is read: a
mistake elsewhere in the file (a rule) does not stop an undo. When the file cannot be
read or its lemmy: section is not valid, it says so (a warning) and uses the defaults
(lemmy.api auto: the version is asked of the instance; 120 requests a minute; a 20 s
timeout): an undo of a false positive is never blocked by a broken rules file.

Each undo is said as it is done; the last line counts them ("3 undone, 1 left as it
is, 2 cannot undo, 0 failed, 0 not tried", and how many were undone before). When
Lemmy is unavailable (a 502, its rate limit past the retries) or refuses the bot's
login, the undo stops there: the rest are listed as not tried, and the same command
again finishes them.

Exit status: 0 done (or nothing to do, or left as it is, or not possible), 1 an undo
failed or was not tried (said why; a modlog that cannot be read is one)
or the decisions named are not recorded (no such id; --rule names no rule ever
recorded, --action no kind of action or --status no outcome: a typo, the message gives
the closest name), 2 --restore-content on Lemmy 0.19 (nothing sent), 75 another undo is
running on this state. Without --yes (the preview): 0 when --yes would do or settle
every undo listed (or they are left as it is, or cannot be undone), also when Lemmy is
not asked for want of LEMMY_URL, LEMMY_USERNAME or LEMMY_PASSWORD (the state file's
list); 1 when an undo would fail now ("would ..., but not now": the modlog cannot be
read, Lemmy stopped answering or refused the login) or Lemmy cannot be reached: --yes
would then exit 1 too; 1 and 2 for the reasons above.

Examples:
  modbot undo 412                       # what undoing decision 412 would do
  modbot undo 412 --yes
  modbot undo --rule "nsfw outside nsfw communities" --since 2d --yes
  modbot undo --run 20261121T100000Z-a1b2c3 --yes
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "undo",
        help="restore removed posts/comments and lift bans of chosen decisions",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("ids", metavar="ID", nargs="*", type=int, help="decision ids (modbot audit)")
    add_filters(p)
    p.add_argument("--yes", action="store_true", help="do it (without: only say what it would do)")
    p.add_argument(
        "--restore-content",
        action="store_true",
        help="when lifting a ban that removed the person's content, have Lemmy 1.0 restore "
        "all their posts and comments too (refused on Lemmy 0.19, which removes them)",
    )
    p.add_argument(
        "--no-modlog-check",
        action="store_true",
        help="undo without asking Lemmy's modlog who acted last (when it cannot be read): "
        "a moderator's or admin's removal or ban after the bot's may then be undone",
    )
    p.add_argument(
        "--rules",
        metavar="FILE",
        help="the policy file whose lemmy: settings (api, requests_per_minute, timeout) "
        "undo uses, as `modbot run` does (default: $MODBOT_RULES, else ./rules.yaml)",
    )
    p.add_argument(
        "--reason",
        metavar="TEXT",
        default="undone by an admin (modbot undo)",
        help="the reason Lemmy's modlog shows (default: %(default)s)",
    )
    p.set_defaults(func=undo)


def undo(args: argparse.Namespace) -> int:
    from modbot.audit import Records, Row, unknown_rule
    from modbot.undo import plan_undo

    which = chosen(args)
    if not args.ids and which == type(which)():
        print(
            "modbot undo: choose decisions: by id, or --rule, --run, --person, --item, "
            "--since/--until (see `modbot audit`)",
            file=sys.stderr,
        )
        return 2
    store = _open_store(args)
    try:
        if args.ids:
            found = {i for i, _ in store.decision_rows(ids=args.ids)}
            missing = sorted(set(args.ids) - found)
            if missing:
                print(f"modbot undo: no decision {', '.join(map(str, missing))}", file=sys.stderr)
                return 1
            # those records only, not the whole table; the window as the audit's query
            chosen_rows = store.decision_rows(
                ids=args.ids,
                since=which.since,
                until=which.until,
                run_id=which.run_id,
                rule=which.rule,
            )
            rows = [Row(i, r) for i, r in chosen_rows if which.matches(r)]
        else:  # streamed: only the records chosen are held
            records = Records(store.path)
            try:
                rows = list(records.rows(which))
            finally:
                records.close()
        if not rows:
            unknown = unknown_rule(store, which)
            if unknown:
                print(f"modbot undo: {unknown}", file=sys.stderr)
                return 1
        plan = plan_undo(
            store, rows, say=lambda text: print(f"modbot undo: {text}", file=sys.stderr, flush=True)
        )
        for decision, action, why in plan.not_undone:
            print(f"cannot undo (#{decision}): {action}: {why}")
        if not plan.steps:
            print(
                "nothing else to undo"
                if plan.not_undone
                else "nothing to undo: no post or comment removed, no ban placed by these decisions"
            )
            return 0
        if not args.yes:
            return _preview(store, plan, args)
        return _carry_out(store, plan, args)
    finally:
        store.close()


def _open_store(args: argparse.Namespace) -> Any:
    """The state file: with --yes for writing, as the daemon opens it; for the preview
    read-only, so that it changes nothing (a killed daemon's -wal is not folded in, the
    file's mode is not set, no login token is saved, an older schema is not upgraded)."""
    if args.yes:
        return open_state(args, "undo")
    from modbot.audit import Records
    from modbot.cli.audit import state_file
    from modbot.errors import StateError
    from modbot.store import Store

    path = state_file(args)
    if not os.path.exists(path):
        raise StateError(
            f"no state file at {path}: modbot has not run with this MODBOT_STATE (give "
            "`modbot undo --state FILE` or set MODBOT_STATE)"
        )
    Records(path).close()  # a modbot state (not empty, not another file)
    return Store(path, read_only=True)


def _ids(decisions: list[int]) -> str:
    return ", ".join(f"#{d}" for d in decisions)


def _preview(store: Any, plan: Any, args: argparse.Namespace) -> int:
    """What --yes would do, with what Lemmy shows now (reads only: the ban, the modlog)."""
    from modbot.actions.handlers import NOT_POSSIBLE
    from modbot.undo import LIFTED, content_restore_refused, found_done

    checks, why, unreachable = _preview_checks(store, plan, args)
    # what --yes would find failing now: its exit status is the preview's (a script
    # running the preview before --yes can tell)
    failing = sum(not step.done_before for step in plan.steps) if unreachable else 0
    refused = (
        None
        if checks is None
        else content_restore_refused(checks.client, plan, args.restore_content)
    )
    if refused is not None:  # as --yes would: nothing listed as done that is refused
        checks.client.close()
        print(f"modbot undo: {refused}", file=sys.stderr)
        return 2
    if why:
        print(
            f"modbot undo: Lemmy not asked ({why}): the list below is what the state file "
            "says; --yes asks Lemmy before each undo (who acted last, the ban)",
            file=sys.stderr,
            flush=True,
        )
    try:
        for step in plan.steps:
            if step.done_before:
                print(f"already undone ({_ids(step.decisions)}): {step.describe}")
                continue
            if checks is not None and found_done(checks.client, store, step):
                # as --yes does: its answer was lost, not someone else's doing
                print(
                    f"would record as done ({_ids(step.decisions)}): {step.describe} (an "
                    "earlier attempt failed, but Lemmy shows it done: nothing sent)"
                )
                continue
            found = checks.why_not(step) if checks is not None else None
            if found is not None and found.detail.startswith(LIFTED):
                # as --yes does: the bot's ban counted as lifted, nothing sent
                print(
                    f"would record as done ({_ids(step.decisions)}): {step.describe} ({found.detail})"
                )
                continue
            if found is None:
                what = f"would {step.describe} ({_ids(step.decisions)})"
                print(f"{what}{_content(step, args.restore_content)}")
            elif found.status == NOT_POSSIBLE:
                print(f"cannot undo ({_ids(step.decisions)}): {step.describe}: {found.detail}")
            elif found.status == "skipped":
                print(f"would not {step.describe} ({_ids(step.decisions)}): {found.detail}")
            else:
                print(
                    f"would {step.describe} ({_ids(step.decisions)}), but not now: {found.detail}"
                )
                failing += 1
                if found.retry:  # Lemmy is passing: the rest as the state file says
                    checks.client.close()
                    checks = None
                    print(
                        "modbot undo: Lemmy not asked for the rest (it stopped answering, "
                        "or refused the login): the lines below are what the state file "
                        "says; --yes asks Lemmy before each undo",
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        if checks is not None:
            checks.client.close()
    if failing:
        print(
            f"nothing was changed; {failing} undo{'' if failing == 1 else 's'} would fail now "
            "(said above): run the same command again once Lemmy answers (exit status 1)"
        )
        return 1
    print("nothing was changed: run the same command with --yes to do it")
    return 0


def _preview_checks(store: Any, plan: Any, args: argparse.Namespace) -> tuple[Any, str, bool]:
    """The read-only checks of the preview, or None and why Lemmy is not asked, and
    whether that is because it cannot be reached (--yes would fail)."""
    from modbot.config.settings import Settings, SettingsError
    from modbot.errors import LemmyError
    from modbot.undo import Checks

    if not any(not step.done_before for step in plan.steps):
        return None, "", False
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        return None, str(exc), False
    lemmy, warning = lemmy_settings(args.rules)
    if warning:  # as --yes says it: the preview asks Lemmy with the same settings
        print(f"modbot undo: warning: {warning}", file=sys.stderr, flush=True)
    try:
        client = _client(store, settings, lemmy, read_only=True)
    except LemmyError as exc:
        return None, f"cannot reach it: {exc}", True
    return Checks(client, store, modlog=not args.no_modlog_check), "", False


def _client(store: Any, settings: Any, lemmy: Any, *, read_only: bool) -> Any:
    """The bot's client with the daemon's login kept in the state (logins are scarce)."""
    from modbot.lemmy import connect

    client = connect(
        settings,
        requests_per_minute=lemmy.requests_per_minute,
        timeout=lemmy.timeout.total_seconds(),
        read_only=read_only,
        api_version=lemmy.api,
        report_to_admins=lemmy.report_to_admins,
    )
    from modbot.session import keep_login

    # Lemmy's holds honoured too (a login refused for its rate): no login sent that the
    # state knows is refused. The preview writes nothing: a login it made is not kept.
    # Nor is a hold an undo meets: an admin running it by hand says when to try again.
    keep_login(client, store, settings, write_token=not store.read_only, write_holds=False)
    return client


def _content(step: Any, restore_content: bool) -> str:
    if step.kind != "unban" or not step.restore_data:
        return ""
    if restore_content:
        return "; Lemmy restores all their posts and comments"
    return "; the posts and comments the ban removed stay removed (--restore-content)"


def _carry_out(store: Any, plan: Any, args: argparse.Namespace) -> int:
    from modbot.cli.common import LOCKED
    from modbot.config.settings import Settings
    from modbot.errors import StateLocked
    from modbot.pipeline import new_run_id
    from modbot.undo import NOT_TRIED, carry_out, content_restore_refused, undo_lock

    settings = Settings.from_env()
    lemmy, warning = lemmy_settings(args.rules)
    if warning:
        print(f"modbot undo: warning: {warning}", file=sys.stderr, flush=True)
    lock = undo_lock(store)
    try:
        lock.acquire(wait=0.0)
    except StateLocked as exc:
        holder = exc.holder or {}
        who = (
            f"pid {holder.get('pid')} on host {holder.get('host')} since "
            f"{holder.get('since')} ({holder.get('command')})"
            if holder
            else "a process that is starting"
        )
        print(
            f"modbot undo: another `modbot undo --yes` is running on the state file "
            f"{store.path}: {who}. One undo at a time: wait for it to end, then run this "
            "again (what it undid is not sent twice). The preview (without --yes) and "
            "`modbot audit` run beside it.",
            file=sys.stderr,
        )
        return LOCKED
    try:
        client = _client(store, settings, lemmy, read_only=False)
        try:
            refused = content_restore_refused(client, plan, args.restore_content)
            if refused is not None:
                print(f"modbot undo: {refused}", file=sys.stderr)
                return 2
            run_id = new_run_id()
            results = carry_out(
                client,
                store,
                plan,
                run_id=run_id,
                reason=args.reason,
                restore_data=args.restore_content,
                modlog=not args.no_modlog_check,
                on_result=lambda step, outcome: _say(step, outcome, args.restore_content),
            )
        finally:
            client.close()
    finally:
        lock.release()
    failed = sum(outcome.status in ("failed", NOT_TRIED) for _, outcome in results)
    left = sum(outcome.status == NOT_TRIED for _, outcome in results)
    if left:
        print(
            f"modbot undo: {left} more not tried (Lemmy was unavailable, or refused the "
            "login); run the same command again to finish: what was done is not sent again",
            file=sys.stderr,
        )
    print(
        f"undo run {run_id}: {_totals(plan, results)}; recorded in the audit (modbot audit "
        f"--run {run_id})"
    )
    return 1 if failed else 0


def _totals(plan: Any, results: list) -> str:
    """What the lines above say, counted: an admin undoing a rule's hundred decisions
    sees at the end whether all was undone."""
    from modbot.actions.handlers import NOT_POSSIBLE
    from modbot.undo import NOT_TRIED

    counts = {"done": 0, "before": 0, "skipped": 0, NOT_POSSIBLE: len(plan.not_undone)}
    counts |= {"failed": 0, NOT_TRIED: 0}
    for _, outcome in results:
        status = outcome.status
        if status == "skipped" and outcome.detail.startswith(("already done", "not sent again")):
            status = "before"  # undone by an earlier undo: the store says so
        counts[status if status in counts else "skipped"] += 1
    before = f"{counts['before']} undone before, " if counts["before"] else ""
    return (
        f"{counts['done']} undone, {before}{counts['skipped']} left as it is, "
        f"{counts[NOT_POSSIBLE]} cannot undo, {counts['failed']} failed, "
        f"{counts[NOT_TRIED]} not tried"
    )


def lemmy_settings(rules: str | None) -> tuple[Any, str | None]:
    """The rules file's ``lemmy:`` settings (``LemmySettings``), read as ``modbot run``
    reads them (the file named by ``rules``, else $MODBOT_RULES, else ./rules.yaml; the
    same size and YAML bounds, the same schema), and None; or, when the file gives none
    (unreadable, not YAML, its ``lemmy:`` section not valid), the defaults and why, for
    a warning. Only that section is validated: a broken rule elsewhere does not matter
    to an undo."""
    from pydantic import ValidationError

    from modbot.config.checks import error_message
    from modbot.config.files import read_text_file
    from modbot.config.policy import resolve_rules_path
    from modbot.config.schema import LemmySettings
    from modbot.config.units import format_duration
    from modbot.config.yamlfile import MAX_RULES_BYTES, read_yaml
    from modbot.errors import UnusableFile

    path = resolve_rules_path(rules)
    shown = str(path)
    try:
        text = read_text_file(path, max_bytes=MAX_RULES_BYTES, what="a rules file")
        why = ""
    except FileNotFoundError:
        why = "no such file (give it with --rules FILE or MODBOT_RULES)"
    except (UnusableFile, OSError) as exc:
        why = f"cannot read it: {exc}"
    if not why:
        try:
            data, lines, problems = read_yaml(text.decode("utf-8-sig"), shown)
        except UnicodeDecodeError as exc:
            data, why = None, f"cannot read it: {exc}"
        else:
            if data is None:
                why = "; ".join(str(p) for p in problems if not p.warning) or "not YAML"
    if not why:
        section = data.get("lemmy")
        try:
            return LemmySettings.model_validate({} if section is None else section), None
        except ValidationError as exc:
            found = []
            for err in exc.errors(include_url=False)[:5]:
                loc = ("lemmy", *err["loc"])
                line = lines.find(loc, key=err["type"] == "extra_forbidden")
                found.append(f"{shown}:{line}: {error_message({**err, 'loc': loc}, data)}")
            why = "its lemmy: section is not valid: " + "; ".join(found)
    default = LemmySettings()
    return default, (
        f"the rules file {shown} gives no lemmy: settings ({why}). Undo talks to Lemmy "
        f"with the defaults: lemmy.api {default.api} (the version is asked of the "
        f"instance), {default.requests_per_minute} requests a minute, a "
        f"{format_duration(default.timeout)} timeout. Where `modbot run` needs other "
        "settings (lemmy.api for an instance that hides its version, a lower rate) and "
        "this undo fails for it, fix the file (`modbot check-rules`) or name it with "
        "--rules FILE, and run the same command again: what was done is not sent twice"
    )


def _say(step: Any, outcome: Any, restore_content: bool) -> None:
    """One line per undo, as it is settled (a long undo shows how far it got)."""
    from modbot.undo import NOT_TRIED

    ids = _ids(step.decisions)
    if outcome.status == "done":
        print(f"done ({ids}): {outcome.detail}{_content(step, restore_content)}", flush=True)
    elif outcome.status == "failed":
        print(f"FAILED ({ids}): {step.describe}: {outcome.detail}", file=sys.stderr, flush=True)
    elif outcome.status == NOT_TRIED:
        print(f"not tried ({ids}): {step.describe}", file=sys.stderr, flush=True)
    elif outcome.status == "not_possible":
        print(f"cannot undo ({ids}): {step.describe}: {outcome.detail}", flush=True)
    else:
        print(f"{outcome.status} ({ids}): {outcome.detail}", flush=True)
