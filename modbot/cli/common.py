"""What every command that works on an instance does first, and argparse types they share.

`load_config` reads the deployment settings (environment) and the policy (rules file)
and says what is wrong with either before anything starts; `write_run_report` writes
one run's decisions.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from modbot.config.policy import Policy
    from modbot.config.settings import Settings

# What `add_parser(subparsers)` of each command module is given.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

log = logging.getLogger("modbot.config")

# Exit statuses, the same for every command (`modbot COMMAND --help` says which apply).
OK = 0
FAILED = 1  # a failure the message explains: configuration, state file, Lemmy, classifier
USAGE = 2  # argparse's own: the command line itself is wrong
LOCKED = 75  # EX_TEMPFAIL: another process acts on this state; try again later
INTERRUPTED = 130  # like a shell's exit status after Ctrl-C
# stdout's reader left (`modbot audit | head`): as a shell shows a process SIGPIPE ended
# (128 + 13); the command stops quietly, as `cat` or `grep` would
PIPE_CLOSED = 141


def say_error(text: str) -> None:
    """Say on stderr why a command stops: the line as it is, or under ``--log-format
    json`` as one JSON object (level ERROR) like every log line, so that a log
    collector parses the one line it most needs (a rules file's mistake, Lemmy not
    reachable) rather than dropping it as unparsable."""
    from modbot.cli import JsonLines

    if any(isinstance(h.formatter, JsonLines) for h in logging.getLogger().handlers):
        logging.getLogger("modbot.cli").error("%s", text)
    else:
        print(text, file=sys.stderr)


def age(text: str) -> timedelta:
    """argparse type for `--since 30d`."""
    from modbot.config.units import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def at_least_one(what: str) -> Callable[[str], int]:
    """An argparse type for a whole number of ``what``, 1 or more (``--limit``,
    ``--batch-size``): 0, a negative number or a word is refused, saying so."""

    def check(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            n = 0
        if n < 1:
            raise argparse.ArgumentTypeError(f"expected {what}, 1 or more, got {text!r}")
        return n

    return check


def add_wait_argument(parser: argparse.ArgumentParser) -> None:
    """`--wait [AGE]` for the commands that act (they need the state's acting lock)."""
    parser.add_argument(
        "--wait",
        metavar="AGE",
        nargs="?",
        const=None,
        default=0.0,
        type=_wait_age,
        help="when another modbot process is acting on the same state file, wait for it "
        "to end (as long as it takes, or at most AGE, e.g. 10m) instead of exiting at "
        f"once with status {LOCKED}; a dry run takes no lock and never waits",
    )


def _wait_age(text: str) -> float:
    return age(text).total_seconds()


def report_file(text: str) -> str:
    """argparse type for a report path: refuse a wrong extension before a long run."""
    if not text.lower().endswith((".json", ".html", ".htm")):
        raise argparse.ArgumentTypeError(
            f"{text!r}: a report is .json or .html; name the file accordingly"
        )
    return text


def load_config(args: argparse.Namespace, command: str) -> tuple[Settings, Policy] | int:
    """(settings, policy) from the environment and the rules file, or an exit status
    after saying what is wrong."""
    from modbot.config.policy import load_policy, resolve_rules_path
    from modbot.config.settings import Settings, SettingsError
    from modbot.errors import PolicyError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        say_error(f"modbot {command}: {exc}")
        return 1
    from modbot.doctor import TEMPLATE_PASSWORD

    if settings.password.reveal() == TEMPLATE_PASSWORD:
        # `modbot init`'s .env as written: Lemmy takes no password under 10 characters,
        # so its login would fail for sure, spending one of the few Lemmy allows an hour
        say_error(
            f"modbot {command}: LEMMY_PASSWORD is still the template's placeholder: set the "
            "bot account's password in .env (or the file --env-file or MODBOT_ENV_FILE "
            "names); no login is sent with it (Lemmy allows a few logins an hour)"
        )
        return 1
    rules_path = resolve_rules_path(getattr(args, "rules", None))
    try:
        policy = load_policy(rules_path)
    except PolicyError as exc:
        for problem in exc.problems:
            say_error(str(problem))
        say_error(
            f"modbot {command}: {rules_path} is not valid; not starting (see `modbot "
            f"check-rules {rules_path}`)"
        )
        return 1
    for warning in policy.warnings:
        log.warning("%s", warning)
    return settings, policy


def exit_status(command: str, work: Callable[[], int]) -> int:
    """Run a command's work and map what ends it to the exit status, in one place: every
    error modbot expects (``modbot.errors.ModbotError``: configuration, state file,
    Lemmy, classifier, report) ends it with ``FAILED`` and one line saying why, never a
    traceback; another process acting on the state with ``LOCKED``; Ctrl-C with
    ``INTERRUPTED``; stdout's reader gone (``| head``) with ``PIPE_CLOSED``, saying
    nothing."""
    import sqlite3

    from classifier.model import ModelError
    from modbot.errors import ModbotError, StateLocked

    output = sys.stdout
    sys.stdout = _Output(output)
    try:
        status = work()
        sys.stdout.flush()  # what is left to write fails here, not at the interpreter's exit
        return status
    except _OutputFailed as exc:  # a full disk under `> out.txt`, in a print or the flush
        _drop_stdout()
        say_error(f"modbot {command}: cannot write its output: {exc}")
        return FAILED
    except BrokenPipeError:
        if not stdout_closed():
            raise  # another pipe or socket: not the reader of the output gone
        _drop_stdout()
        return PIPE_CLOSED
    except StateLocked as exc:
        say_error(f"modbot {command}: {exc}")
        return LOCKED
    except ModbotError as exc:
        say_error(f"modbot {command}: {exc}")
    except ModelError as exc:  # one that did not come through the pipeline's seam
        say_error(f"modbot {command}: the classifier cannot start: {exc}")
    except KeyboardInterrupt:  # Ctrl-C before the command handles it (e.g. in --wait)
        say_error(f"modbot {command}: interrupted")
        return INTERRUPTED
    except sqlite3.Error as exc:  # the state file failed under a running command
        from modbot.store import database_problem

        say_error(f"modbot {command}: {database_problem(state_path(), exc)}")
    finally:
        sys.stdout = output
    return FAILED


class _OutputFailed(Exception):
    """Writing the command's output failed (not a reader gone: that is BrokenPipeError)."""


class _Output:
    """``sys.stdout`` while a command runs: a write or flush that fails (a full disk, an
    I/O error), in the middle or at the end, unbuffered or not, is told apart from any
    other OSError, so the command ends with one line saying so, not a traceback."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _OutputFailed(exc.strerror or str(exc)) from exc

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _OutputFailed(exc.strerror or str(exc)) from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _drop_stdout() -> None:
    """Python's own recipe for a stdout that cannot be written: what is still buffered
    goes to /dev/null, so the flush at the interpreter's exit fails no more (no
    "Exception ignored" line, no status 120)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # not a file: nothing flushed at exit
        pass
    finally:
        os.close(devnull)


def stdout_closed() -> bool:
    """Whether stdout is a pipe or socket whose reader has gone (POLLERR: what a write
    to it fails on with EPIPE)."""
    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
    except (AttributeError, OSError, ValueError):  # not a file (captured), or no poll
        return False
    poller.register(fd, select.POLLOUT)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def state_path() -> str:
    """MODBOT_STATE as the settings read it (for messages about the state file)."""
    return os.environ.get("MODBOT_STATE") or "modbot.sqlite3"
