"""The HTML report's upload gate section lists the files the gate accepted too (it
records them since 65a7cdd): its title named only refusals and files decided without a
verdict, and an accepted file's row had an empty "why" (it has no action and was not
skipped: why it passed is in its record's `gate.why`). Now the title says what the
section holds and the row says why the file passed, through `modbot report`."""

from __future__ import annotations

import asyncio
import hashlib
import html
import re
from pathlib import Path

import httpx
from support.bot import Bot

from fakelemmy.scenarios import PASSWORD
from modbot.config.policy import load_policy
from modbot.modes.gate import Gate
from modbot.store import Store

SECRET = "gate-secret-0123456789abcdef"
FINE = b"\x89PNG\r\n\x1a\n a file no rule refuses"
SPARED = b"\x89PNG\r\n\x1a\n a file on the allow-list"
BAD = b"\x89PNG\r\n\x1a\n a file on the known-bad list"
RULES = """
classifier: {model: modbot-tiny, pretrained: null, device: cpu, allow_random_weights: true}
hash_lists:
  known-bad: {kind: sha256, file: bad.txt}
  innocent: {kind: sha256, file: innocent.txt}
exempt: {hash_lists: [innocent]}
rules:
  - name: known bad
    if: {type: incoming, hash_list: known-bad}
    then: {reject: true}
"""


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Verdict:
    def to_dict(self) -> dict:
        return {"labels": [], "scores": {"nsfw": -0.5}, "unreadable": None, "concept_version": "v1"}


class Engine:
    """A classifier that finds nothing, at once."""

    concept_version = "v1"
    random_weights = True

    async def ready(self) -> str:
        return "v1"

    async def classify(self, data: bytes) -> _Verdict:
        return _Verdict()

    def close(self) -> None:
        pass


async def ask(gate: Gate, *bodies: bytes) -> list[int]:
    transport = httpx.ASGITransport(app=gate.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
        return [
            (
                await client.post(
                    f"/validate/{SECRET}", content=body, headers={"Content-Type": "image/png"}
                )
            ).status_code
            for body in bodies
        ]


def gate_rows(page: str) -> dict[str, list[str]]:
    """The gate section's rows, by the sha256 prefix they show: their cells' text."""
    section = page.split("At the upload gate", 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr><td>.*?</tr>", section, re.S):
        cells = [
            html.unescape(re.sub(r"<[^>]+>", "", c))
            for c in re.findall(r"<td>(.*?)</td>", row, re.S)
        ]
        rows[cells[3]] = cells
    return rows


def test_the_report_lists_accepted_files_under_a_title_that_says_so_with_why(
    fake_lemmy, tmp_path: Path
):
    (tmp_path / "bad.txt").write_text(sha(BAD) + "\n")
    (tmp_path / "innocent.txt").write_text(sha(SPARED) + "\n")
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    gate = Gate(load_policy(rules), Store(tmp_path / "state.sqlite3"), Engine(), secret=SECRET)
    try:
        assert asyncio.run(ask(gate, FINE, SPARED, BAD)) == [200, 200, 406]
    finally:
        gate.close()

    bot = Bot(fake_lemmy, tmp_path, rules, password=PASSWORD)
    bot("report", "--since", "1d", "--out", str(tmp_path / "r.html"))
    page = (tmp_path / "r.html").read_text()

    title = re.search(r"<h2>(At the upload gate[^<]*)</h2>", page)
    assert title, page
    assert "accepted" in title.group(1) and "(3)" in title.group(1)
    rows = gate_rows(page)
    assert set(rows) == {sha(FINE)[:16], sha(SPARED)[:16], sha(BAD)[:16]}
    assert rows[sha(FINE)[:16]][1] == "accepted (200)"
    assert rows[sha(FINE)[:16]][4] == "no rule rejects it"
    assert "allow-list" in rows[sha(SPARED)[:16]][4]
    # a refusal's why is still its rule and what pict-rs was answered
    assert rows[sha(BAD)[:16]][1] == "rejected (406)"
    assert rows[sha(BAD)[:16]][4].startswith("rule: known bad; 406: ")
    assert "<img" not in page
    assert fake_lemmy.mutating_requests() == []
