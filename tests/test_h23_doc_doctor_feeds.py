"""`modbot doctor` shows each subscribed feed as the bot and the gate keep it in the
state file: the copy's age against its max_age, its entries, when it was checked, or
the last refusal of a feed with no copy; a stale or refused feed is a warning. It reads
the state file only: not a byte of it, nor a -wal or -shm file beside it, is written."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support.cli import bot_environment
from support.policies import write_rules

from fakelemmy import FakeLemmy
from modbot.cli import main
from modbot.config.policy import load_policy
from modbot.feeds import FeedEntry, make_feed, public_key_text, sign_feed
from modbot.store import Store
from modbot.subscriptions import refresh

KEY = Ed25519PrivateKey.generate()


def signed(generated_at: datetime, n: int = 3) -> tuple[bytes, bytes]:
    entries = [
        FeedEntry("sha256", hashlib.sha256(b"%d" % i).hexdigest(), "bad", "csam", date.today())
        for i in range(n)
    ]
    return sign_feed(make_feed("peer.example", entries, generated_at=generated_at), KEY)


def feeds_yaml(lemmy: FakeLemmy, names: list[str], **max_age: str) -> str:
    lines = ["feeds:"]
    for name in names:
        extra = f", max_age: {max_age[name]}" if name in max_age else ""
        lines.append(
            f"  {name}: {{url: '{lemmy.remote_url}/{name}.json', key: '{public_key_text(KEY)}', "
            f"use: known-bad, instance: peer.example{extra}}}"
        )
    return "\n".join(lines) + "\n"


@pytest.fixture
def setup(fake_lemmy: FakeLemmy, tiny, tmp_path: Path, monkeypatch) -> dict[str, Any]:
    """A bot's environment; the state holds what its cycles kept of four feeds: `fresh`
    (fetched an hour after it was made), `stale` (a copy 5 days old, max_age 2d), `down`
    (its host answers 503: refused, no copy), `new` (added to rules.yaml since)."""
    lemmy = fake_lemmy
    state = tmp_path / "state.sqlite3"
    bot_environment(monkeypatch, lemmy, state, pictrs=True)
    rules = write_rules(tmp_path, lemmy, tiny)
    head = rules.read_text()
    made = datetime.now(UTC) - timedelta(hours=1)
    body, sig = signed(made)
    lemmy.add_remote_file("fresh.json", body, content_type="application/json")
    lemmy.add_remote_file("fresh.json.sig", sig, content_type="text/plain")
    lemmy.add_remote_behaviour("down.json", b"down", status=503, content_type="text/plain")
    # the bot's cycle, by the rules of then
    rules.write_text(head + feeds_yaml(lemmy, ["fresh", "down"]))
    store = Store(state)
    warnings: list[str] = []
    refresh(store, load_policy(rules), warn=warnings.append)
    assert len(warnings) == 1 and "'down'" in warnings[0], warnings
    old = datetime.now(UTC) - timedelta(days=5)
    body, sig = signed(old, n=2)
    copy = {"body": body, "signature": sig, "fetched_at": time.time() - 600}
    store.keep_feed_copy("stale", {**copy, "generated_at": old.isoformat()})
    store.close()
    rules.write_text(head + feeds_yaml(lemmy, ["fresh", "stale", "down", "new"], stale="2d"))
    monkeypatch.setenv("MODBOT_RULES", str(rules))
    return {"state": state, "made": made, "old": old}


def doctor(capsys) -> tuple[int, list[tuple[str, str, str]], str]:
    status = main(["doctor", "--timeout", "3"])
    out = capsys.readouterr().out
    lines = [tuple(line.split(None, 2)) for line in out.splitlines()[:-1]]
    return status, lines, out  # type: ignore[return-value]


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if "state" in p.name}


def test_doctor_shows_each_feed_as_kept_and_warns_of_a_stale_or_refused_one(
    setup: dict[str, Any], capsys
) -> None:
    state: Path = setup["state"]
    before = files(state.parent)
    assert list(before) == ["state.sqlite3"]  # the bot stopped: all of it in the file
    status, lines, out = doctor(capsys)
    assert status == 0, out  # warnings, no failure
    rules = next(m for s, c, m in lines if c == "rules")
    made, old = setup["made"], setup["old"]
    assert f"fresh (feed known-bad, 3 entries of {made:%Y-%m-%d})" in rules, rules
    assert f"stale (feed known-bad, 2 entries of {old:%Y-%m-%d})" in rules, rules
    assert "down (feed known-bad, no copy yet)" in rules, rules
    feeds = {m.split(" ", 1)[0]: (s, m) for s, c, m in lines if c == "feeds"}
    assert list(feeds) == ["fresh", "stale", "down", "new"], out
    assert [c for _, c, _ in lines].index("feeds") == [c for _, c, _ in lines].index("rules") + 1

    status_, said = feeds["fresh"]
    assert status_ == "ok", said
    assert said.startswith(
        f"fresh (known-bad): copy of {made:%Y-%m-%d %H:%M} UTC kept, 3 entries (3 used), "
        "checked under 1m ago (every 1h); 1h old (max_age 1w)"
    ), said

    status_, said = feeds["stale"]
    assert status_ == "warn", said
    assert "2 entries (2 used), checked 10m ago" in said
    assert "5 days ago, over the 2 days a feed may be old" in said, said
    assert said.endswith("(it is still used: ask its admins)"), said

    status_, said = feeds["down"]
    assert status_ == "warn", said
    assert said.startswith("down (known-bad): no copy kept, none of it is used: refused "), said
    assert "(under 1m ago): http_503: the server answered HTTP 503" in said, said
    assert "), tried again every 1h" in said, said

    assert feeds["new"] == (
        "ok",
        "new (known-bad): no copy kept yet: `modbot run` (or the gate) fetches it at its "
        "next cycle",
    )
    # read, never written: no byte changed, no -wal or -shm left beside it
    assert files(state.parent) == before


def test_doctor_reads_what_a_running_bot_holds_in_its_wal(setup: dict[str, Any], capsys) -> None:
    """The bot (or the gate) running: the newest copy may be in the -wal file only."""
    state: Path = setup["state"]
    store = Store(state)  # a running bot's connection: the -wal file is there
    try:
        now = datetime.now(UTC) - timedelta(minutes=5)
        body, sig = signed(now, n=4)
        copy = {"body": body, "signature": sig, "fetched_at": time.time()}
        store.keep_feed_copy("new", {**copy, "generated_at": now.isoformat()})
        _, lines, out = doctor(capsys)
    finally:
        store.close()
    feeds = {m.split(" ", 1)[0]: (s, m) for s, c, m in lines if c == "feeds"}
    assert feeds["new"][0] == "ok", out
    assert f"copy of {now:%Y-%m-%d %H:%M} UTC kept, 4 entries (4 used)" in feeds["new"][1]


def test_doctor_says_a_copy_the_key_no_longer_verifies_is_not_used(
    setup: dict[str, Any], capsys
) -> None:
    """The publisher's new key in rules.yaml: the copy kept under the old one is not used."""
    rules = Path(os.environ["MODBOT_RULES"])
    other = public_key_text(Ed25519PrivateKey.generate())
    text = rules.read_text()
    line = next(x for x in text.splitlines() if x.startswith("  fresh:"))
    rules.write_text(text.replace(line, line.replace(public_key_text(KEY), other)))
    _, lines, out = doctor(capsys)
    feeds = {m.split(" ", 1)[0]: (s, m) for s, c, m in lines if c == "feeds"}
    assert feeds["fresh"][0] == "warn", out
    assert "does not verify with the key in rules.yaml" in feeds["fresh"][1]
    assert "fresh (feed known-bad, no copy yet)" in next(m for _, c, m in lines if c == "rules")


def test_doctor_without_a_state_file_says_no_copy_yet(setup: dict[str, Any], capsys) -> None:
    state: Path = setup["state"]
    state.unlink()
    status, lines, out = doctor(capsys)
    assert status == 0, out
    feeds = [(s, m) for s, c, m in lines if c == "feeds"]
    assert [s for s, _ in feeds] == ["ok"] * 4, out
    assert all("no copy kept yet" in m for _, m in feeds), out
    assert not state.exists()
