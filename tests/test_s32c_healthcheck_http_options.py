"""`modbot healthcheck --http URL` checks a gate's or worker's /healthz: --max-age and
--state are the state file's options and did nothing with it, silently (an admin who
wrote `--max-age 30s` believed the gate's answer was held to it). Now refused, saying so."""

from __future__ import annotations

import pytest

from modbot.cli import main


@pytest.mark.parametrize("option", [["--max-age", "5m"], ["--state", "modbot.sqlite3"]])
def test_a_state_option_with_http_is_refused(option, capsys, monkeypatch):
    import httpx

    def no_request(*args, **kwargs):  # nothing is asked when the command line is wrong
        raise AssertionError("a request was sent")

    monkeypatch.setattr(httpx, "stream", no_request)
    status = main(
        ["--env-file", "/dev/null", "healthcheck", "--http", "http://127.0.0.1:9/healthz", *option]
    )
    err = capsys.readouterr().err
    assert status == 2, err
    assert option[0] in err and "--http" in err and "state file" in err
