"""Deployment settings and secrets, read from the environment (and a ``.env`` file).

The policy (what to do) lives in ``rules.yaml``; where the instance is and how to log in
lives here, so the policy file can be shared and reviewed without leaking a password.
Secrets are wrapped in :class:`Secret`, whose ``repr``/``str`` never show the value.
:func:`load_env_file` reads a ``.env`` file into the environment at start, so the same
file serves Docker, systemd's ``EnvironmentFile=`` and a plain shell.
"""

from __future__ import annotations

import io
import logging
import os
import re
import stat
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from modbot.errors import SettingsError

__all__ = ["ENV_FILE_VAR", "Secret", "Settings", "SettingsError", "load_env_file", "read_env_file"]

log = logging.getLogger(__name__)

# Names the command line reads itself; the rest are in Settings.from_env.
ENV_FILE_VAR = "MODBOT_ENV_FILE"
DEFAULT_ENV_FILE = ".env"
# Worth a warning when a file holding one of them can be read by every user: the bot's,
# the gate's and the worker's secrets alike (a worker's file holds no LEMMY_PASSWORD).
SECRET_VARS = (
    "LEMMY_PASSWORD",
    "PICTRS_API_KEY",
    "MODBOT_CLASSIFIER_TOKEN",
    "MODBOT_GATE_SECRET",
    "MODBOT_WORKER_TOKENS",
)
# ... and these when a login is written in them (`https://user:password@lemmy.example`)
URL_VARS = ("LEMMY_URL", "PICTRS_URL")
# The variables modbot reads (.env.example and docs/configuration.md say what each is):
# one in an env file that is none of them but close to one is a typo, said at start.
KNOWN_VARS = (
    "LEMMY_URL",
    "LEMMY_USERNAME",
    "LEMMY_PASSWORD",
    "PICTRS_URL",
    "PICTRS_API_KEY",
    "MODBOT_STATE",
    "MODBOT_RULES",
    "MODBOT_CLASSIFIER_TOKEN",
    "MODBOT_ENV_FILE",
    "MODBOT_GATE_SECRET",
    "MODBOT_METRICS_ADDRESS",
    "MODBOT_METRICS_PORT",
    "MODBOT_OFFLINE",
    "MODBOT_TEXT_CACHE_DIR",
    "MODBOT_WORKER_TOKENS",
    "MODBOT_WORKER_TOKENS_FILE",
)
# An env file holds a few settings (.env.example is 2 KB): far less than this.
MAX_ENV_FILE_BYTES = 1024 * 1024
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Secret:
    """A string that does not print itself. Call :meth:`reveal` where the value is sent."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __repr__(self) -> str:
        return "Secret('********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)


@dataclass(frozen=True)
class Settings:
    """Where the instance is and how the bot logs in (``.env.example`` documents each)."""

    lemmy_url: str
    username: str
    password: Secret = field(repr=False)
    pictrs_url: str | None = None
    pictrs_api_key: Secret | None = field(default=None, repr=False)
    state_path: Path = Path("modbot.sqlite3")
    rules_path: Path = Path("rules.yaml")
    # the bearer token for `classifier.remote` workers (never in rules.yaml)
    classifier_token: Secret | None = field(default=None, repr=False)

    @property
    def can_purge_by_alias(self) -> bool:
        """pict-rs' internal purge needs both its URL and its API key."""
        return bool(self.pictrs_url and self.pictrs_api_key)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        missing = [n for n in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD") if not env.get(n)]
        if missing:
            raise SettingsError(
                f"missing environment variable(s): {', '.join(missing)}; set them to the "
                "instance URL and the bot account's login (`modbot init` writes a .env "
                "naming each)"
            )
        url = _address("LEMMY_URL", env["LEMMY_URL"], "https://lemmy.example")
        if url is None:
            raise SettingsError("LEMMY_URL is blank; set it to the instance URL")
        # `pictrs:8080` (a compose file's form) would be taken and fail only when a rule
        # purges, when the admin needs it
        pictrs_url = _address("PICTRS_URL", env.get("PICTRS_URL") or "", "http://pictrs:8080")
        api_key = env.get("PICTRS_API_KEY") or None
        if bool(pictrs_url) != bool(api_key):
            raise SettingsError(
                "PICTRS_URL and PICTRS_API_KEY go together (pict-rs' internal purge needs "
                "both); set both, or neither (purge_image then only deletes an upload by its "
                "delete token)"
            )
        return cls(
            lemmy_url=url,
            username=env["LEMMY_USERNAME"],
            password=Secret(env["LEMMY_PASSWORD"]),
            pictrs_url=pictrs_url,
            pictrs_api_key=Secret(api_key) if api_key else None,
            state_path=Path(env.get("MODBOT_STATE") or "modbot.sqlite3"),
            rules_path=Path(env.get("MODBOT_RULES") or "rules.yaml"),
            classifier_token=Secret(token)
            if (token := env.get("MODBOT_CLASSIFIER_TOKEN"))
            else None,
        )


def _address(name: str, value: str, example: str) -> str | None:
    """The URL setting ``name`` as modbot uses it (no trailing ``/``, the scheme in lower
    case), or None when unset; a SettingsError saying what to write when no HTTP client
    could use it (no scheme, no host, a port that is not one), at start, not at the first
    request (a traceback from deep in the client)."""
    url = value.strip()
    if not url.rstrip("/"):
        return None
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise SettingsError(
            f"{name} must start with http:// or https:// (like {example}), "
            f"got {_without_login(url.rstrip('/'))!r}"
        )
    url = scheme.lower() + sep + rest.rstrip("/")
    why = "no host"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError as exc:
        parts, why = None, str(exc)
    if parts is None or not parts.hostname:
        raise SettingsError(
            f"{name} {_without_login(url)!r} is not a URL an HTTP client can use ({why}): "
            f"write a host, and a port of 1-65535 if any, like {example} (an IPv6 host "
            "in brackets)"
        )
    return url


def _without_login(url: str) -> str:
    """``url`` for an error message: without a ``user:password@`` in it, even where the
    URL is too broken for a parser to find its host."""
    from modbot.lemmy.transport import shown_url

    shown = shown_url(url)
    return shown if "@" not in shown else "<a URL with a login in it; not shown>"


def read_env_file(path: str | os.PathLike) -> dict[str, str]:
    """The ``KEY=value`` lines of a ``.env`` file, parsed by python-dotenv (comments,
    quotes, ``export KEY=...``, multi-line quoted values). Values are taken as written:
    no ``${VAR}`` expansion, so a password with a ``$`` in it stays whole. Raises
    :class:`SettingsError` naming the file and the line, never what the line holds (a
    password pasted on a line of its own is still a password)."""
    from dotenv.parser import parse_stream

    path = Path(path)
    try:
        # bounded: --env-file /dev/zero (or a 2 GB file by mistake) is said, not read
        # into memory; a pipe (`--env-file <(sops -d env)`) is read up to the bound
        info = path.stat()
        if stat.S_ISREG(info.st_mode):
            size, raw = info.st_size, None
        else:
            with path.open("rb") as file:
                raw = file.read(MAX_ENV_FILE_BYTES + 1)
            size = len(raw)
        if size > MAX_ENV_FILE_BYTES:
            raise SettingsError(
                f"env file {path} is over {MAX_ENV_FILE_BYTES // 2**20} MiB: is it the right "
                "file? It should hold KEY=value lines (`modbot init` writes one)"
            )
        text = path.read_text(encoding="utf-8") if raw is None else raw.decode("utf-8")
    except FileNotFoundError:
        raise SettingsError(f"env file {path} does not exist") from None
    except IsADirectoryError:
        raise SettingsError(
            f"env file {path} is a directory, not a file of KEY=value lines"
        ) from None
    except PermissionError:
        raise SettingsError(
            f"env file {path} cannot be read by this user (permission "
            "denied); make it readable by the account modbot runs as "
            f"(chown it, then chmod 600 {path})"
        ) from None
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"env file {path} is not UTF-8 text (byte {exc.start}); it should hold KEY=value lines"
        ) from None
    except OSError as exc:
        raise SettingsError(f"env file {path} cannot be read: {exc.strerror}") from None
    values: dict[str, str] = {}
    bad: list[str] = []
    for binding in parse_stream(io.StringIO(text)):
        text = binding.original.string
        # The parser's line is where the blank lines before the statement start.
        line = binding.original.line + text[: len(text) - len(text.lstrip())].count("\n")
        if binding.error:
            bad.append(f"line {line}: not a KEY=value line")
        elif binding.key is None:
            continue  # blank or comment
        elif binding.value is None:
            bad.append(f"line {line}: no '=' in it")
        elif not _NAME.match(binding.key):
            bad.append(
                f"line {line}: the name before '=' is not a variable name (letters, digits and _)"
            )
        else:
            values[binding.key] = binding.value
    if bad:
        raise SettingsError(
            f"env file {path} is malformed: {'; '.join(bad)}. Each line is KEY=value, a "
            "comment (#) or blank; quote a value with spaces or a # in it "
            "(KEY='a value')"
        )
    return values


def env_file_path(
    explicit: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None
) -> Path | None:
    """Which file to read: ``--env-file``, else ``$MODBOT_ENV_FILE`` (both must exist),
    else ``./.env`` when there is one."""
    env = os.environ if environ is None else environ
    named = explicit or env.get(ENV_FILE_VAR)
    if named:
        return Path(named)
    default = Path(DEFAULT_ENV_FILE)
    return default if default.exists() else None


def load_env_file(
    explicit: str | os.PathLike | None = None, environ: MutableMapping[str, str] | None = None
) -> Path | None:
    """Put the ``.env`` file's variables into ``environ`` (default ``os.environ``) where
    they are not set already: a variable the shell or the service manager set is never
    replaced by the file (as compose's ``environment:`` wins over its ``env_file:``).
    Returns the file read, or None when there was none to read. Logs the names, never
    the values."""
    env = os.environ if environ is None else environ
    path = env_file_path(explicit, env)
    if path is None:
        return None
    values = read_env_file(path)
    _warn_if_exposed(path, values)
    _warn_of_typos(path, values)
    kept = sorted(k for k in values if k in env)
    for key, value in values.items():
        env.setdefault(key, value)
    log.debug("read %d variable(s) from %s: %s", len(values), path, ", ".join(values) or "none")
    if kept:
        log.info(
            "%s: %s set in the environment as well; the environment's value is used",
            path,
            ", ".join(kept),
        )
    return path


def _warn_of_typos(path: Path, values: Mapping[str, str]) -> None:
    """A name in the file that modbot does not read but that is close to one it does
    (MODBOT_STAT for MODBOT_STATE: the state file would be ./modbot.sqlite3, a fresh one,
    without a word)."""
    import difflib

    for name in values:
        if name in KNOWN_VARS or not name.startswith(("LEMMY_", "PICTRS_", "MODBOT_")):
            continue
        in_rules = _rules_setting(name)
        if in_rules:
            # MODBOT_USER_AGENT for fetch.user_agent: no variable overrides rules.yaml
            log.warning(
                "%s: %s is not a setting modbot reads; it is %s in rules.yaml, and no "
                "environment variable sets it: write it there",
                path,
                name,
                " or ".join(in_rules),
            )
            continue
        cut = [k for k in KNOWN_VARS if k.startswith(name)]  # LEMMY_USER, MODBOT_STAT
        close = difflib.get_close_matches(name, KNOWN_VARS, n=2, cutoff=0.8)
        meant = list(dict.fromkeys([*cut, *close]))[:2]
        if meant:
            log.warning(
                "%s: %s is not a setting modbot reads; did you mean %s? Rename it: as it "
                "is, modbot goes without it",
                path,
                name,
                " or ".join(meant),
            )


def _rules_setting(name: str) -> list[str]:
    """The rules.yaml settings (``fetch.user_agent``) that MODBOT_<NAME> names, if any."""
    if not name.startswith("MODBOT_"):
        return []
    from modbot.config.schema import PolicyFile  # only for a name modbot does not read

    key = name.removeprefix("MODBOT_").lower()
    found = []
    for section, info in PolicyFile.model_fields.items():
        fields = getattr(info.annotation, "model_fields", None)
        if isinstance(fields, dict) and key in fields:
            found.append(f"{section}.{key}")
    return found


def _has_password(url: str | None) -> bool:
    try:
        return bool(url and urlsplit(url.strip()).password)
    except ValueError:  # not a URL: said at start, where it is read
        return False


def _warn_if_exposed(path: Path, values: Mapping[str, str]) -> None:
    secrets = [k for k in SECRET_VARS if values.get(k)]
    secrets += [f"{k} (its login)" for k in URL_VARS if _has_password(values.get(k))]
    if not secrets or os.name != "posix" or not path.is_file():
        return
    mode = path.stat().st_mode
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        log.warning(
            "%s holds %s and every user of this machine can %s it; make it the "
            "bot's alone: chmod 600 %s",
            path,
            ", ".join(secrets[:-1]) + " and " + secrets[-1] if len(secrets) > 1 else secrets[0],
            "read and change" if mode & stat.S_IWOTH else "read",
            path,
        )
