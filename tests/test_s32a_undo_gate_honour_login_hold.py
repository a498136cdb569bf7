"""`modbot undo` and the gate's messages to the admins took up the login token kept in the
state but not the holds kept beside it: with the bot's login dropped and Lemmy refusing
logins for its rate (a hold the bot kept, `holds:<LEMMY_URL>`), they sent a login the
state knew would be refused (and the gate again at each report's retry, every minute).
They honour the hold now, sending no login before its end, and say so. Through
`modbot.cli.main`, and the gate's `AdminReports`, against the fake Lemmy."""

from __future__ import annotations

import json
import time

import pytest
from test_h23_undo_resume import removed  # noqa: F401 (a fixture)

from fakelemmy.scenarios import PASSWORD
from modbot.cli import main
from modbot.config.settings import Settings
from modbot.store import Store

REFUSED = "Lemmy refuses logins for now"


def hold_login(store: Store, url: str, seconds: float = 3600) -> float:
    """The hold the bot kept when Lemmy refused its login for its rate; its end."""
    until = time.time() + seconds
    store.set_cursor(
        f"holds:{url}",
        json.dumps(
            {
                "requests": {},
                "login": {
                    "since": time.time() - 10,
                    "until": until,
                    "why": f"login as 'modbot': {REFUSED} (rate_limit_error)",
                },
            }
        ),
    )
    return until


def login_requests(lemmy) -> list:
    return [r for r in lemmy.requests if r.path.endswith(("/user/login", "/auth/login"))]


@pytest.mark.parametrize("yes", [True, False], ids=["undo", "preview"])
def test_undo_sends_no_login_the_state_holds_and_says_so(removed, capsys, yes):  # noqa: F811
    s, posts = removed
    store = Store(s.env["MODBOT_STATE"])
    try:
        hold_login(store, s.lemmy.url)
    finally:
        store.close()
    s.lemmy.invalidate_tokens("modbot")  # the bot's kept token is dropped
    before = len(login_requests(s.lemmy))
    code = main(["undo", "--rule", "known abusive image", *(["--yes"] if yes else [])])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert REFUSED in out + err, out + err
    assert len(login_requests(s.lemmy)) == before  # no login sent
    assert all(s.lemmy.post(p.id).removed for p in posts)
    assert PASSWORD not in out + err


def test_the_gates_report_sends_no_login_the_state_holds_and_waits_for_its_end(
    fake_lemmy, tmp_path, caplog
):
    from modbot.modes import gate as gate_mode

    settings = Settings.from_env(
        {"LEMMY_URL": fake_lemmy.url, "LEMMY_USERNAME": "modbot", "LEMMY_PASSWORD": PASSWORD}
    )
    store = Store(tmp_path / "state.sqlite3")
    reports = gate_mode.AdminReports(store, every_s=0.0, settings=settings)
    try:
        hold_login(store, fake_lemmy.url, seconds=1800)
        reports.note("allowed_without_verdict", "timeout", "a" * 64)
        with caplog.at_level("WARNING", logger="modbot.modes.gate"):
            reports.flush()
        assert login_requests(fake_lemmy) == []
        assert fake_lemmy.private_messages == []
        assert (reports.sent, reports.failed) == (0, 1) and reports.pending  # kept
        said = " ".join(r.getMessage() for r in caplog.records)
        assert REFUSED in said, said
        # not tried again every minute meanwhile: only once the hold has ended
        assert reports._retry_at - time.monotonic() > 1700
    finally:
        store.close()
