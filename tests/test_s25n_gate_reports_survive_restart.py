"""Files the gate decided without a verdict (stored unchecked, or refused) are told to
the admins even when the gate stops before its next report is due (a restart, SIGTERM,
kill -9): the next start reads them back from their records. Before, the counts waiting
for `gate.report_every` lived in memory only: a restart within the hour lost them, and
the admins never heard that files were stored without a check."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from classifier.remote import ClassifierUnavailable
from fakelemmy.scenarios import PASSWORD
from modbot.config.policy import load_policy
from modbot.config.settings import Settings
from modbot.modes.gate import AdminReports, Gate
from modbot.store import Store

SECRET = "gate-secret-0123456789abcdef"
RULES = """
classifier: {model: modbot-tiny, pretrained: null, device: cpu, allow_random_weights: true}
gate: {budget: 5s, on_timeout: allow, report_every: 1h}
rules:
  - name: csam at the door
    if: {type: incoming, labels: [csam]}
    then: {reject: true}
"""


class DownEngine:
    """Every classifier worker down."""

    concept_version = "v1"
    random_weights = True

    async def ready(self) -> str:
        return "v1"

    async def classify(self, data: bytes):
        raise ClassifierUnavailable("http://worker:8095: connection refused")

    def close(self) -> None:
        pass


def start_gate(tmp_path: Path, fake_lemmy) -> Gate:
    (tmp_path / "rules.yaml").write_text(RULES)
    settings = Settings.from_env(
        {"LEMMY_URL": fake_lemmy.url, "LEMMY_USERNAME": "modbot", "LEMMY_PASSWORD": PASSWORD}
    )
    policy = load_policy(tmp_path / "rules.yaml")
    store = Store(tmp_path / "state.sqlite3")
    return Gate(policy, store, DownEngine(), secret=SECRET, settings=settings)


async def ask(gate: Gate, body: bytes) -> int:
    transport = httpx.ASGITransport(app=gate.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
        answer = await client.post(
            f"/validate/{SECRET}", content=body, headers={"Content-Type": "image/png"}
        )
        return answer.status_code


def messages_within(fake_lemmy, seconds: float) -> list:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not fake_lemmy.private_messages:
        time.sleep(0.1)
    time.sleep(0.5)
    return list(fake_lemmy.private_messages)


def test_fail_opens_not_yet_told_when_the_gate_stopped_are_told_after_its_restart(
    fake_lemmy, tmp_path
):
    # a report went out a moment ago: the next is due in an hour
    store = Store(tmp_path / "state.sqlite3")
    store.set_cursor(AdminReports.CURSOR, repr(time.time()))
    store.close()
    first = start_gate(tmp_path, fake_lemmy)
    try:
        files = [b"\x89PNG\r\n\x1a\n upload %d" % n for n in range(2)]
        assert [asyncio.run(ask(first, body)) for body in files] == [200, 200]
    finally:
        first.close()  # stopped (SIGTERM) before report_every: nothing sent
    assert fake_lemmy.private_messages == []

    # an hour later the gate runs again (restarted, or after a kill -9)
    store = Store(tmp_path / "state.sqlite3")
    store.set_cursor(AdminReports.CURSOR, repr(time.time() - 3601))
    store.close()
    second = start_gate(tmp_path, fake_lemmy)
    try:
        (message,) = messages_within(fake_lemmy, 15)
        assert message.recipient_id == fake_lemmy.cast.admin.id
        assert "decided 2 file(s) without a verdict" in message.content
        assert "2 allowed_without_verdict: classifier_unavailable" in message.content
    finally:
        second.close()

    # told once: a third start (the report due again) tells nobody the same files again
    store = Store(tmp_path / "state.sqlite3")
    store.set_cursor(AdminReports.CURSOR, repr(time.time() - 3601))
    store.close()
    third = start_gate(tmp_path, fake_lemmy)
    try:
        time.sleep(5)  # two report checks
        assert len(fake_lemmy.private_messages) == 1
    finally:
        third.close()
