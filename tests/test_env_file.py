"""Settings from a `.env` file, outside Docker: through `python -m modbot`, in a working
directory that holds nothing but the file (and the policy it names), with none of the
bot's variables in the real environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.policies import write_sweep_rules

from modbot.store import Store

# Spaces, a `$` and a `${...}` the file must not expand, a `#` it must not cut.
PASSWORD = "correct horse $battery ${HOME} #staple"
SETTINGS_VARS = (
    "LEMMY_URL",
    "LEMMY_USERNAME",
    "LEMMY_PASSWORD",
    "PICTRS_URL",
    "PICTRS_API_KEY",
    "MODBOT_STATE",
    "MODBOT_RULES",
    "MODBOT_ENV_FILE",
)


def clean_env(**extra: str) -> dict[str, str]:
    """The test run's environment less every variable the bot reads (conftest sets
    MODBOT_ENV_FILE to keep a developer's .env away; these tests want the default)."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    return {**env, **extra}


def modbot(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "modbot", *args],
        cwd=cwd,
        env=env if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_env(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_run_once_dry_run_with_only_a_dot_env_file(fake_lemmy, photos, tiny_checkpoint, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    lemmy.add_person("automod", admin=True, bot_account=True, password=PASSWORD)
    upload = lemmy.add_upload(cast.alice, photos["chelsea"])
    lemmy.add_post(cast.pics, cast.alice, name="a cat", url=upload.url)
    write_sweep_rules(tmp_path, lemmy, tiny_checkpoint)
    write_env(
        tmp_path / ".env",
        f"""\
# as .env.example, filled in
LEMMY_URL={lemmy.url}
LEMMY_USERNAME=automod
LEMMY_PASSWORD='{PASSWORD}'

export MODBOT_STATE=state-from-dotenv.sqlite3
MODBOT_RULES=rules.yaml   # a comment after the value
""",
    )

    run = modbot("-v", "run", "--once", "--dry-run", cwd=tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    logins = [r for r in lemmy.requests if r.path.endswith("/user/login")]
    assert logins and logins[0].json["username_or_email"] == "automod"
    assert lemmy.mutating_requests() == []
    store = Store(tmp_path / "state-from-dotenv.sqlite3")
    try:
        decisions = store.decisions()
        assert upload.url in {d["image"]["url"] for d in decisions}
        assert all(d["dry_run"] for d in decisions)
    finally:
        store.close()
    logs = run.stdout + run.stderr
    assert "read 5 variable(s) from .env" in logs
    assert "battery" not in logs, "the password is never printed, not even at -v"


def test_the_environment_wins_over_the_file(tmp_path):
    write_env(tmp_path / ".env", "MODBOT_STATE=from-file.sqlite3\n")
    from_file = modbot("healthcheck", cwd=tmp_path)
    assert from_file.returncode == 1 and "from-file.sqlite3" in from_file.stderr

    both = modbot("healthcheck", cwd=tmp_path, env=clean_env(MODBOT_STATE="from-env.sqlite3"))
    assert both.returncode == 1
    assert "from-env.sqlite3" in both.stderr and "from-file.sqlite3" not in both.stderr
    assert (
        ".env: MODBOT_STATE set in the environment as well; the environment's value "
        "is used" in both.stderr
    )


def test_env_file_option_and_variable_name_the_file(tmp_path):
    elsewhere = write_env(tmp_path / "modbot.env", "MODBOT_STATE=named.sqlite3\n")
    write_env(tmp_path / ".env", "MODBOT_STATE=default.sqlite3\n")

    option = modbot("--env-file", str(elsewhere), "healthcheck", cwd=tmp_path)
    assert "named.sqlite3" in option.stderr and "default.sqlite3" not in option.stderr
    variable = modbot("healthcheck", cwd=tmp_path, env=clean_env(MODBOT_ENV_FILE=str(elsewhere)))
    assert "named.sqlite3" in variable.stderr
    none = modbot("--env-file", os.devnull, "healthcheck", cwd=tmp_path)
    assert "modbot.sqlite3" in none.stderr and "default.sqlite3" not in none.stderr

    missing = modbot("--env-file", str(tmp_path / "nope.env"), "healthcheck", cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"modbot: env file {tmp_path / 'nope.env'} does not exist"


def test_a_malformed_file_is_refused_by_line_without_showing_it(tmp_path):
    write_env(
        tmp_path / ".env",
        """\
LEMMY_URL=https://lemmy.example

LEMMY_USERNAME automod
LEMMY_PASSWORD=
hunter2-pasted-alone
LEMMY-URL=https://other.example
""",
    )
    done = modbot("healthcheck", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    message = done.stderr.strip()
    assert message.startswith(
        "modbot: env file .env is malformed: line 3: not a KEY=value "
        "line; line 5: no '=' in it; line 6: the name before '=' is "
        "not a variable name"
    ), message
    assert "hunter2" not in message and "automod" not in message and "other" not in message
    assert "no state file" not in message, "the command did not run"


def test_an_unreadable_file_gets_a_clear_error(tmp_path):
    (tmp_path / ".env").mkdir()
    folder = modbot("healthcheck", cwd=tmp_path)
    assert folder.returncode == 1
    assert folder.stderr.strip() == (
        "modbot: env file .env is a directory, not a file of KEY=value lines"
    )

    binary = tmp_path / "binary.env"
    binary.write_bytes(b"LEMMY_PASSWORD=\xff\xfe\n")
    garbled = modbot("--env-file", str(binary), "healthcheck", cwd=tmp_path)
    assert garbled.returncode == 1 and "is not UTF-8 text" in garbled.stderr


def test_a_file_this_user_may_not_read(tmp_path, monkeypatch, capsys):
    """Root reads any file, and the tests run as root: the refusal is the OS's, faked."""
    from modbot.cli import main

    secret = write_env(tmp_path / "secret.env", "LEMMY_PASSWORD=x\n")
    real_read_text = Path.read_text

    def read_text(path, *args, **kwargs):
        if path == secret:
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    assert main(["--env-file", str(secret), "healthcheck"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"modbot: env file {secret} cannot be read by this user (permission denied); make "
        f"it readable by the account modbot runs as (chown it, then chmod 600 {secret})"
    )


def test_a_world_readable_file_holding_the_password_is_warned_about(tmp_path):
    env = write_env(tmp_path / ".env", "LEMMY_PASSWORD=x\nMODBOT_STATE=s.sqlite3\n", mode=0o644)
    loose = modbot("healthcheck", cwd=tmp_path)
    assert (
        ".env holds LEMMY_PASSWORD and every user of this machine can read it; make "
        "it the bot's alone: chmod 600 .env"
    ) in loose.stderr

    env.chmod(0o600)
    assert "chmod" not in modbot("healthcheck", cwd=tmp_path).stderr
    write_env(env, "MODBOT_STATE=s.sqlite3\n", mode=0o644)
    assert "chmod" not in modbot("healthcheck", cwd=tmp_path).stderr, "no secret in it"
