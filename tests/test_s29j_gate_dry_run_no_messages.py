"""`modbot gate --dry-run` with the bot's Lemmy login set: a file decided without a
verdict is in the admins' report, which the gate logs. Before, the dry-run gate also
sent that report to every admin as a private message: a request that changes Lemmy,
where the bot's own dry run plans its messages and sends none (DEVELOPERS.md: dry-run
means zero requests that change anything). Now it is logged only, and said so."""

from __future__ import annotations

import asyncio
import logging

from test_gate_decide import SECRET, ask, gate_for

from fakelemmy.scenarios import PASSWORD
from modbot.config.settings import Settings
from modbot.modes.gate import Gate


class Unavailable:
    """A classifier no worker of which answers."""

    concept_version = "v1"
    random_weights = True

    async def ready(self) -> str:
        return "v1"

    async def classify(self, data: bytes):
        from classifier.remote import ClassifierUnavailable

        raise ClassifierUnavailable("no worker answered")

    def close(self) -> None:
        pass


def test_a_dry_run_gate_sends_the_admins_no_message(fake_lemmy, tmp_path, caplog):
    settings = Settings.from_env(
        {"LEMMY_URL": fake_lemmy.url, "LEMMY_USERNAME": "modbot", "LEMMY_PASSWORD": PASSWORD}
    )
    made = gate_for(tmp_path, "gate: {on_timeout: reject}\n", {})
    made.close()
    gate = Gate(
        made.policy, made.store, Unavailable(), secret=SECRET, settings=settings, dry_run=True
    )
    try:
        status, answer = asyncio.run(ask(gate, b"\x89PNG\r\n\x1a\n not looked at"))
        assert (status, answer["outcome"]) == (200, "refused_without_verdict")
        before = len(fake_lemmy.mutating_requests())
        with caplog.at_level(logging.WARNING, logger="modbot.modes.gate"):
            gate.reports.flush()
    finally:
        gate.close()
        made.store.close()
    # before: a private message to the admin (a POST /api/v3/private_message)
    assert fake_lemmy.private_messages == []
    assert fake_lemmy.mutating_requests()[before:] == []
    (line,) = [r.getMessage() for r in caplog.records if "admin report" in r.getMessage()]
    assert "1 refused_without_verdict: classifier_unavailable" in line, line
    assert "dry run" in line and "not sent" in line, line
