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
