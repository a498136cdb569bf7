"""The errors modbot expects, in one hierarchy. Each message says what happened and what
to do about it, so the command line prints it as it is (``modbot.cli.common`` maps each
kind to an exit status, in one place) and never a traceback.

    ModbotError
    ├── ConfigError            the operator's configuration: fix it, then start again
    │   ├── SettingsError      an environment variable (or the .env file)
    │   ├── PolicyError        rules.yaml; ``.problems``: each ``FILE:LINE: message``
    │   ├── UnusableFile       a file the configuration names is no usable text file
    │   ├── HashListError      lines of a hash-list file
    │   └── KeyFileError       a feed-signing key file (``modbot.feeds``)
    ├── StateError             the state file (MODBOT_STATE) cannot be used
    │   └── StateLocked        another process acts on it (exit status 75)
    ├── LemmyError             Lemmy refused; ``.status``, ``.error`` (Lemmy's code)
    │   ├── LemmyLoginError    the bot cannot log in
    │   └── LemmyUnavailable   passing: 5xx, timeouts, rate limits, after every retry
    │       └── LemmyBadAnswer an answer Lemmy never sends (not JSON, an HTML page)
    ├── ReadOnlyError          a dry run tried to change something: a bug, never sent
    ├── ClassifierError        the classifier cannot start (wraps classifier.ModelError)
    ├── ReportError            a report cannot be written
    ├── DemoError              the demo cannot run
    ├── ImageHashError         bytes with no perceptual hash (not an image)
    │   └── HashNotTaken       a readable image a kind takes no hash of (one colour)
    ├── FeedError              a hash feed refused (``modbot.feeds``: one subclass a reason)
    └── FetchSkipped           an image not downloaded (``modbot.fetch.refusals``)

The last two are not failures of a run: their ``reason`` (``FetchSkipped``) or message
is what the decision record says about one image. ``ReadOnlyError`` is kept apart from
``LemmyError`` on purpose: code that records a refused action as ``failed`` must not
swallow a dry run that tried to act.

Classes keep the builtin base they had (``ValueError`` for settings, hash lists and
reports), so a caller catching that still does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ClassifierError",
    "ConfigError",
    "DemoError",
    "HashListError",
    "HashNotTaken",
    "ImageHashError",
    "LemmyBadAnswer",
    "LemmyError",
    "LemmyLoginError",
    "LemmyUnavailable",
    "ModbotError",
    "PolicyError",
    "Problem",
    "ReadOnlyError",
    "ReportError",
    "SettingsError",
    "StateError",
    "StateLocked",
    "UnusableFile",
]


class ModbotError(Exception):
    """An error modbot expects; the message says what to do."""


# --- configuration -------------------------------------------------------------------


class ConfigError(ModbotError):
    """The configuration (environment, rules file, the files it names) is not usable."""


class SettingsError(ConfigError, ValueError):
    """A required setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or, with `warning=True`, worth knowing) in a policy file."""

    file: str
    line: int
    message: str
    warning: bool = False

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {'warning: ' if self.warning else ''}{self.message}"


class PolicyError(ConfigError):
    """The policy file is not valid; `.problems` lists each as `FILE:LINE: message`."""

    def __init__(self, problems: list[Problem]):
        self.problems = [p for p in problems if not p.warning]
        self.warnings = [p for p in problems if p.warning]
        n = len(self.problems)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(
            f"{n} problem{'s' * (n != 1)} in the policy file:\n{lines}\n"
            "Fix them and check with `modbot check-rules FILE`."
        )


class UnusableFile(ConfigError):
    """The file exists but cannot be used; `line` is where, when it is about its content."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


class HashListError(ConfigError, ValueError):
    """A hash-list file that cannot be used. `.problems` is `[(file, line, message)]`."""

    def __init__(self, problems: list[tuple[str, int, str]]):
        self.problems = problems
        super().__init__("\n".join(f"{f}:{line}: {msg}" for f, line, msg in problems))


# --- the state file ---------------------------------------------------------------------


class StateError(ModbotError):
    """The state file cannot be used; the message names it and says what to do."""


class StateLocked(StateError):
    """Another process acts on this state file. ``holder``: what it wrote about itself."""

    def __init__(self, message: str, holder: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.holder = holder


# --- Lemmy --------------------------------------------------------------------------------


class LemmyError(ModbotError):
    """Lemmy refused a request. ``error`` is Lemmy's snake_case code (``not_an_admin``...)."""

    def __init__(self, message: str, *, status: int | None = None, error: str | None = None):
        super().__init__(message)
        self.status = status
        self.error = error


class LemmyLoginError(LemmyError):
    """The bot could not log in (wrong LEMMY_USERNAME/LEMMY_PASSWORD, or login rate-limited)."""


class LemmyUnavailable(LemmyError):
    """Lemmy kept failing (5xx, timeouts, rate limit) after every retry."""


class LemmyBadAnswer(LemmyUnavailable):
    """Lemmy (or a proxy in front of it) answered something Lemmy never sends: not JSON,
    an HTML page with status 200, a listing that is not a list. Passing, like a 502:
    the cycle fails with this message and the next one tries again."""


class ReadOnlyError(ModbotError, RuntimeError):
    """A mutating call was attempted on a read-only (dry-run) client: a bug, never sent."""


# --- the rest -------------------------------------------------------------------------------


class ClassifierError(ModbotError):
    """The classifier cannot start (no weights, a worker refusing the token, ...); the
    ``classifier.ModelError`` it comes from is its ``__cause__``."""


class ReportError(ModbotError, ValueError):
    """A report cannot be written as asked (e.g. an unknown file extension)."""


class DemoError(ModbotError):
    """The demo cannot run (e.g. the shipped rules.yaml is missing)."""


class ImageHashError(ModbotError, ValueError):
    """The bytes could not be decoded as an image, so there is no perceptual hash."""


class HashNotTaken(ImageHashError):
    """A readable image this kind takes no hash of, by design (a picture of one colour
    all over has no pHash): no failure, as a PDQ below quality 50 is none."""
