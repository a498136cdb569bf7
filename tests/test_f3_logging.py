"""At the default log level the operator sees modbot's lines, not its libraries' noise."""

from __future__ import annotations

import logging


def test_an_overrun_poll_is_no_warning(caplog):
    import modbot.modes.daemon  # noqa: F401  (the daemon's scheduler logs through it)

    caplog.set_level(logging.DEBUG)
    logging.getLogger("apscheduler.scheduler").warning(
        'Execution of job "%s" skipped: maximum number of running instances reached (%d)',
        "Daemon._poll (trigger: interval[0:01:00])",
        1,
    )
    logging.getLogger("apscheduler.scheduler").warning("something else went wrong")
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == ["something else went wrong"]
    assert any(
        r.name == "modbot.daemon" and r.levelno == logging.DEBUG and "still ran" in r.getMessage()
        for r in caplog.records
    )


def test_doctor_logs_no_line_per_http_request_without_v(
    fake_lemmy, tiny, tmp_path, monkeypatch, caplog
):
    from support.policies import write_rules

    from modbot.cli import main

    rules = write_rules(tmp_path, fake_lemmy, tiny)
    for key, value in {
        "LEMMY_URL": fake_lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "MODBOT_RULES": str(rules),
    }.items():
        monkeypatch.setenv(key, value)
    before = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    for name in before:  # as a fresh process has them
        logging.getLogger(name).setLevel(logging.NOTSET)
    caplog.set_level(logging.INFO)
    try:
        main(["--env-file", "/dev/null", "doctor", "--timeout", "3"])
    finally:
        for name, level in before.items():
            logging.getLogger(name).setLevel(level)
    assert not [r.getMessage() for r in caplog.records if r.name.startswith(("httpx", "httpcore"))]
