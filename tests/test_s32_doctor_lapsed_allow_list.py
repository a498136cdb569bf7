"""`modbot doctor` on an allow-list or classified feed whose copy is older than its
max_age said "(it is still used: ask its admins)", though since 1189b6a such a copy is
not used (it would spare files on a word nobody renews): the admin was told the
opposite of what the bot does. Now it says the copy is not used, and why; a known-bad
copy that old is still said to be used (it is)."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support.cli import bot_environment
from support.policies import write_rules

from fakelemmy import FakeLemmy
from modbot.cli import main
from modbot.feeds import FeedEntry, make_feed, public_key_text, sign_feed
from modbot.store import Store

KEY = Ed25519PrivateKey.generate()
USES = {"bad": ("known-bad", "bad"), "allow": ("allow-list", "innocent")}
USES["judged"] = ("classified", "innocent")


def test_doctor_says_a_lapsed_allow_list_is_not_used(
    fake_lemmy: FakeLemmy, tiny, tmp_path: Path, monkeypatch, capsys
) -> None:
    lemmy = fake_lemmy
    state = tmp_path / "state.sqlite3"
    bot_environment(monkeypatch, lemmy, state, pictrs=True)
    rules = write_rules(tmp_path, lemmy, tiny)
    old = datetime.now(UTC) - timedelta(days=5)
    store = Store(state)
    lines = ["feeds:"]
    for name, (use, verdict) in USES.items():
        entry = FeedEntry(
            "sha256", hashlib.sha256(name.encode()).hexdigest(), verdict, "x", date.today()
        )
        body, sig = sign_feed(make_feed("peer.example", [entry], generated_at=old), KEY)
        copy = {"body": body, "signature": sig, "fetched_at": time.time() - 600}
        store.keep_feed_copy(name, {**copy, "generated_at": old.isoformat()})
        lines.append(
            f"  {name}: {{url: '{lemmy.remote_url}/{name}.json', key: '{public_key_text(KEY)}', "
            f"use: {use}, instance: peer.example, max_age: 2d}}"
        )
    store.close()
    rules.write_text(rules.read_text() + "\n".join(lines) + "\n")
    monkeypatch.setenv("MODBOT_RULES", str(rules))

    assert main(["doctor", "--timeout", "3"]) == 0
    out = capsys.readouterr().out
    said = {
        m.split(" ", 1)[0]: (s, m)
        for s, c, m in (line.split(None, 2) for line in out.splitlines()[:-1])
        if c == "feeds"
    }
    assert said["bad"][0] == "warn" and said["bad"][1].endswith(
        "(it is still used: ask its admins)"
    ), said["bad"]
    assert said["allow"][0] == "warn" and said["allow"][1].endswith(
        "(not used: an allow-list that old exempts nothing: ask its admins)"
    ), said["allow"]
    assert "(not used: its verdicts that old stand for nothing" in said["judged"][1], said
