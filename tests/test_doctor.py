"""`modbot doctor` and what `modbot run` checks before it logs in and loads the model:
each way of getting the instance wrong has its own message, against the fake Lemmy and
real sockets (DNS, a closed port, plain HTTP where TLS is expected)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from support.bot import Bot
from support.policies import write_rules

from modbot.cli import main
from modbot.session import not_admin_warning


@pytest.fixture
def env(fake_lemmy, tiny, tmp_path, monkeypatch):
    """The environment of a bot on the fake (as `modbot` reads it), to spoil per test."""
    rules = write_rules(tmp_path, fake_lemmy, tiny)
    values = {
        "LEMMY_URL": fake_lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "PICTRS_URL": fake_lemmy.pictrs_url,
        "PICTRS_API_KEY": fake_lemmy.pictrs_api_key,
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "MODBOT_RULES": str(rules),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def doctor(capsys, *args: str) -> tuple[int, dict[str, tuple[str, str]], str]:
    """Exit status, check -> (status, message), and the whole output."""
    status = main(["doctor", "--timeout", "3", *args])
    out = capsys.readouterr().out
    found = {}
    for line in out.splitlines()[:-1]:
        word, check, message = line.split(None, 2)
        found[check] = (word, message)
    return status, found, out


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_everything_in_order_logs_in_once_and_changes_nothing(fake_lemmy, env, capsys):
    status, found, out = doctor(capsys)
    assert status == 0, out
    assert list(found) == [
        "settings", "state", "dns", "connect", "lemmy", "clock", "login", "admin", "account", "pictrs",
        "rules", "schedule", "classifier",
    ]  # fmt: skip
    # the standard cast's bot account hides NSFW and bots: `run` turns that on
    # ...and the test model's random weights are a warning, never "ok"
    assert {c for c, (s, _) in found.items() if s != "ok"} == {"account", "classifier"}, out
    assert "show_nsfw, show_bot_accounts off" in found["account"][1]
    assert "Lemmy 0.19" in found["lemmy"][1] and "API v3" in found["lemmy"][1]
    assert "accepts the API key" in found["pictrs"][1]
    assert "tiny.safetensors" in found["classifier"][1]
    assert out.endswith("all checks passed\n")
    logins = [r for r in fake_lemmy.requests if r.path == "/api/v3/user/login"]
    assert len(logins) == 1 and fake_lemmy.mutating_requests() == []


@pytest.mark.parametrize(
    "spoil, check, says",
    [
        ({"LEMMY_URL": "{url}/api/v3"}, "url", "ends in the API path (/api/v3): give the "),
        ({"LEMMY_URL": "http://lemmy.invalid"}, "dns", "cannot resolve lemmy.invalid"),
        ({"LEMMY_URL": "http://127.0.0.1:{closed}"}, "connect", "refused the connection"),
        ({"LEMMY_URL": "https://127.0.0.1:{port}"}, "tls", "does not speak TLS"),
        ({"LEMMY_URL": "{remote}"}, "lemmy", "but not as a Lemmy instance"),
        ({"LEMMY_PASSWORD": "wrong"}, "login", "wrong username or password"),
        ({"PICTRS_API_KEY": "wrong"}, "pictrs", "pict-rs refused PICTRS_API_KEY (HTTP 401)"),
    ],
    ids=["api-path", "dns", "refused", "not-tls", "not-lemmy", "password", "pictrs-key"],
)
def test_each_failure_has_its_own_message(fake_lemmy, env, capsys, monkeypatch, spoil, check, says):
    port = fake_lemmy.url.rsplit(":", 1)[1]
    for key, value in spoil.items():
        value = value.format(
            url=fake_lemmy.url, closed=closed_port(), port=port, remote=fake_lemmy.remote_url
        )
        monkeypatch.setenv(key, value)
    status, found, out = doctor(capsys)
    assert status == 1 and out.endswith("some checks failed\n")
    assert found[check][0] == "FAIL" and says in found[check][1], out
    assert [c for c, (s, _) in found.items() if s == "FAIL"] == [check], out
    if check in ("url", "dns", "connect", "tls", "lemmy"):
        assert "login" not in found  # what needs the instance is skipped
    assert fake_lemmy.mutating_requests() == []


def test_a_non_admin_account_is_a_warning_unless_a_rule_needs_an_admin(
    fake_lemmy, env, capsys, monkeypatch, tiny, tmp_path
):
    fake_lemmy.add_person("helper", password="pw2", show_nsfw=False)
    monkeypatch.setenv("LEMMY_USERNAME", "helper")
    monkeypatch.setenv("LEMMY_PASSWORD", "pw2")
    # the rules ban site-wide: Lemmy answers not_an_admin to every ban of this account
    status, found, out = doctor(capsys)
    assert status == 1, out
    assert found["admin"][0] == "FAIL" and "'known abusive image' (site ban)" in found["admin"][1]
    # in the words `modbot run` warns with (modbot.session), one wording for both
    run_says = not_admin_warning("helper", ["'known abusive image' (site ban)"])
    assert found["admin"][1] == run_says
    assert found["account"][0] == "warn" and "show_nsfw" in found["account"][1]

    purge = "\n  - name: purge it\n    if: {hash_list: known-bad}\n    then: {purge_item: true}\n"
    monkeypatch.setenv("MODBOT_RULES", str(write_rules(tmp_path, fake_lemmy, tiny, rules=purge)))
    status, found, out = doctor(capsys)
    assert status == 1 and "'purge it' (purge_item)" in found["admin"][1], out

    moderator = (
        "\n  - name: moderate\n    if: {hash_list: known-bad}\n    then:\n"
        "      remove: gone\n      ban: {scope: community, duration: 7d}\n"
    )
    monkeypatch.setenv(
        "MODBOT_RULES", str(write_rules(tmp_path, fake_lemmy, tiny, rules=moderator))
    )
    status, found, out = doctor(capsys)  # what a community's moderator may do
    assert status == 0, out
    assert found["admin"][0] == "warn" and "not an admin" in found["admin"][1]
    assert found["admin"][1] == not_admin_warning("helper", [])  # site bans only


def test_the_state_file_is_checked_and_left_as_it_is(
    fake_lemmy, env, capsys, monkeypatch, tmp_path
):
    """`run` would stop on a state file it cannot open: doctor says so first, without
    creating the file or writing beside it."""
    status, found, out = doctor(capsys)  # none yet: run creates it
    assert status == 0 and found["state"][0] == "ok" and "creates" in found["state"][1], out
    assert not Path(env["MODBOT_STATE"]).exists()

    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database\n" * 100)
    for state, says in (
        (junk, "is not a usable SQLite database"),
        (junk / "modbot.sqlite3", "is not a directory"),
        (tmp_path, "is a directory"),
    ):
        monkeypatch.setenv("MODBOT_STATE", str(state))
        status, found, out = doctor(capsys)
        assert status == 1 and found["state"][0] == "FAIL" and says in found["state"][1], out
        assert "login" in found  # the rest is still checked
    assert junk.read_bytes() == b"not a database\n" * 100

    from modbot.store import Store

    good = tmp_path / "good.sqlite3"
    store = Store(good)
    store.set_cursor("x", "1")
    store.close()
    before = sorted(tmp_path.iterdir())
    monkeypatch.setenv("MODBOT_STATE", str(good))
    status, found, out = doctor(capsys)
    assert status == 0 and found["state"][0] == "ok", out
    assert sorted(tmp_path.iterdir()) == before  # no -wal or -shm left beside it


def test_missing_weights_are_found_without_loading_the_model(fake_lemmy, env, tmp_path):
    rules = tmp_path / "vit.yaml"
    rest = Path(env["MODBOT_RULES"]).read_text().partition("concepts:")[2]
    rules.write_text(
        "classifier: {model: ViT-B-32, pretrained: openai, device: cpu}\nconcepts:" + rest
    )
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "doctor", "--rules", str(rules)],
        env={**env, "PATH": "/usr/bin:/bin", "HF_HOME": str(tmp_path / "hf"),
             "HF_HUB_OFFLINE": "1", "MODBOT_ENV_FILE": "/dev/null"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    (line,) = [x for x in done.stdout.splitlines() if x.split()[1:2] == ["classifier"]]
    assert line.startswith("FAIL") and "not in the Hugging Face cache" in line
    assert "hf download" in line


def test_run_fails_fast_and_says_live_only_after_login(fake_lemmy, tiny, tmp_path):
    bot = Bot(fake_lemmy, tmp_path, write_rules(tmp_path, fake_lemmy, tiny), password="wrong")
    done = bot("run", "--once", check=False)
    assert done.returncode == 1
    assert "wrong username or password" in done.stderr and "modbot doctor" in done.stderr
    assert "modbot live" not in done.stderr
    assert "RANDOM WEIGHTS" not in done.stderr, "the model was not loaded"

    bot.env["LEMMY_URL"] = fake_lemmy.url + "/api/v3"
    done = bot("run", "--once", check=False)
    assert done.returncode == 1 and "ends in the API path" in done.stderr
    bot.env["LEMMY_URL"] = f"http://127.0.0.1:{closed_port()}"
    done = bot("run", "--once", check=False)
    assert done.returncode == 1 and "refused the connection" in done.stderr
    assert "retry" not in done.stderr  # said at once, not after 5 retries

    bot.env.update(LEMMY_URL=fake_lemmy.url, LEMMY_PASSWORD="pw")
    done = bot("run", "--once")
    live = done.stderr.index("modbot live on")
    assert done.stderr.index("logged in to") < live < done.stderr.index("RANDOM WEIGHTS")


@pytest.mark.parametrize(
    "command", [("report", "--out", "r.json"), ("sweep", "--dry-run")], ids=["report", "sweep"]
)
def test_sweep_and_report_say_the_same_before_they_start(
    fake_lemmy,
    tiny,
    tmp_path,
    command,
):
    bot = Bot(fake_lemmy, tmp_path, write_rules(tmp_path, fake_lemmy, tiny), password="wrong")
    done = bot(*command, check=False)
    assert done.returncode == 1 and "wrong username or password" in done.stderr
    bot.env.update(LEMMY_PASSWORD="pw", LEMMY_URL=fake_lemmy.url + "/api/v3/")
    done = bot(*command, check=False)
    assert done.returncode == 1 and "ends in the API path" in done.stderr
    assert fake_lemmy.mutating_requests() == []


def test_behind_a_proxy_the_socket_steps_are_the_proxys(monkeypatch):
    """httpx goes through HTTPS_PROXY: the host may not even resolve here, and that is no
    failure of the bot's (NO_PROXY hosts are checked as usual)."""
    from modbot.lemmy.probe import reach

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "direct.invalid")
    (finding,) = reach("https://lemmy.invalid")
    assert finding.status == "skip" and "proxy.internal:3128" in finding.message
    (finding,) = reach("https://direct.invalid")
    assert finding.status == "FAIL" and "cannot resolve direct.invalid" in finding.message


@pytest.mark.parametrize(
    "proxy",
    [
        "http://proxyuser:S3cr3tProxyPass@proxy.internal:3128",
        "http://proxyuser:S3cr3t@Proxy@Pass@proxy.internal:3128/",
        "proxyuser:S3cr3tProxyPass@proxy.internal:3128",
    ],
)
def test_the_proxy_is_named_without_its_credentials(monkeypatch, proxy):
    """doctor's output is pasted into bug reports: a proxy's user and password stay out."""
    from modbot.lemmy.probe import reach

    monkeypatch.setenv("HTTPS_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    (finding,) = reach("https://lemmy.invalid")
    assert finding.status == "skip"
    assert finding.message == "through the proxy proxy.internal:3128: not checked here"


def test_a_password_in_the_urls_never_shows(fake_lemmy, env, capsys, monkeypatch):
    """doctor's output is pasted into bug reports: a password written into LEMMY_URL or
    PICTRS_URL (basic auth in front of them) shows as ***, as do the others."""
    from types import SimpleNamespace

    from modbot.config.settings import Settings
    from modbot.doctor import connect_first
    from modbot.errors import LemmyError

    host = fake_lemmy.url.split("//", 1)[1]
    monkeypatch.setenv("LEMMY_URL", f"http://bob:Url-S3cret@{host}")
    monkeypatch.setenv("LEMMY_PASSWORD", "Lemmy-S3cret-pw")
    status, found, out = doctor(capsys)
    assert "Url-S3cret" not in out and f"http://bob:***@{host}" in found["settings"][1], out
    assert "Lemmy-S3cret-pw" not in out
    monkeypatch.setenv("LEMMY_URL", fake_lemmy.url)
    monkeypatch.setenv("LEMMY_PASSWORD", "wrong")  # too short to hide: words stay whole
    status, found, out = doctor(capsys)
    assert "***" not in out, out  # not "*** username or password"

    monkeypatch.setenv("LEMMY_URL", f"http://bob:Url-S3cret@{host}/api/v3")
    status, found, out = doctor(capsys)
    assert status == 1 and found["url"][0] == "FAIL", out
    assert "Url-S3cret" not in out and f"http://bob:***@{host}" in found["url"][1]

    pipeline = SimpleNamespace(settings=Settings.from_env())
    with pytest.raises(LemmyError) as raised:
        connect_first(pipeline)  # what `run`, `sweep` and `report` say first
    assert "Url-S3cret" not in str(raised.value) and "ends in the API path" in str(raised.value)


def test_a_rate_limited_login_says_to_wait_not_to_lower_the_request_rate(fake_lemmy, env, capsys):
    """A login Lemmy keeps rate-limiting: the message is about the login's own limit (a
    few an hour per address), not the bot's request rate."""
    fake_lemmy.fail_next("/api/v3/user/login", times=50)  # 0.19: 400 rate_limit_error
    status, found, out = doctor(capsys)
    assert status == 1
    word, said = found["login"]
    assert word == "FAIL", out
    assert "Lemmy refuses logins for now (rate_limit_error" in said, out
    assert "requests_per_minute" not in out
