"""`modbot doctor` says why a subscribed feed was refused at its last try (a bad
signature, too large, the host's HTTP status), with a copy still in use or none: the
state file keeps the reason, so the admin need not dig through the bot's log. A feed
that verifies again clears it."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

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


def signed(generated_at: datetime, key: Ed25519PrivateKey = KEY) -> tuple[bytes, bytes]:
    entries = [FeedEntry("sha256", hashlib.sha256(b"1").hexdigest(), "bad", "csam", date.today())]
    return sign_feed(make_feed("peer.example", entries, generated_at=generated_at), key)


def serve(lemmy: FakeLemmy, name: str, body: bytes, sig: bytes) -> None:
    lemmy.add_remote_file(f"{name}.json", body, content_type="application/json")
    lemmy.add_remote_file(f"{name}.json.sig", sig, content_type="text/plain")


def doctor_feeds(capsys) -> dict[str, tuple[str, str]]:
    main(["doctor", "--timeout", "3"])
    out = capsys.readouterr().out
    lines = [line.split(None, 2) for line in out.splitlines()[:-1]]
    return {m.split(" ", 1)[0]: (s, m) for s, c, m in lines if c == "feeds"}


def test_doctor_says_why_a_feed_was_refused_with_a_copy_and_without(
    fake_lemmy: FakeLemmy, tiny, tmp_path: Path, monkeypatch, capsys
) -> None:
    lemmy = fake_lemmy
    state = tmp_path / "state.sqlite3"
    rules = write_rules(tmp_path, lemmy, tiny)
    feeds = ["feeds:"] + [
        f"  {name}: {{url: '{lemmy.remote_url}/{name}.json', key: '{public_key_text(KEY)}', "
        "use: known-bad, instance: peer.example}"
        for name in ("held", "down")
    ]
    rules.write_text(rules.read_text() + "\n".join(feeds) + "\n")
    bot_environment(monkeypatch, lemmy, state, rules, pictrs=True)
    made = datetime.now(UTC) - timedelta(hours=1)
    serve(lemmy, "held", *signed(made))
    lemmy.add_remote_behaviour("down.json", b"down", status=503, content_type="text/plain")
    store = Store(state)
    warnings: list[str] = []
    refresh(store, load_policy(rules), warn=warnings.append)
    assert len(warnings) == 1 and "'down'" in warnings[0], warnings

    # `held`'s host now serves a feed signed by someone else's key, under the same name;
    # the try is due again (its `every` passed)
    body, _ = signed(datetime.now(UTC))
    _, forged = signed(datetime.now(UTC), Ed25519PrivateKey.generate())
    serve(lemmy, "held", body, forged)
    store.feed_fetched("held", 0.0)
    refresh(store, load_policy(rules), warn=warnings.append)
    assert len(warnings) == 2 and "'held'" in warnings[1], warnings
    store.close()

    said = doctor_feeds(capsys)
    status, text = said["held"]
    assert status == "warn", text
    assert f"copy of {made:%Y-%m-%d %H:%M} UTC kept" in text, text
    assert "refused at the last try" in text and "wrong_key: signed by ed25519:" in text, text
    assert text.endswith("; the copy kept is still used meanwhile"), text
    status, text = said["down"]
    assert status == "warn", text
    assert "no copy kept, none of it is used: refused " in text, text
    assert "http_503: the server answered HTTP 503" in text, text
    assert "the log of `modbot run`" not in text, text

    # both verify again: the refusals are gone
    serve(lemmy, "held", *signed(datetime.now(UTC)))
    serve(lemmy, "down", *signed(datetime.now(UTC)))
    store = Store(state)
    store.feed_fetched("held", 0.0)
    tried = json.loads(store.get_cursor("feed:down:refused") or "{}")
    store.set_cursor("feed:down:refused", json.dumps({**tried, "at": time.time() - 3601}))
    refresh(store, load_policy(rules), warn=warnings.append)
    store.close()
    assert len(warnings) == 2, warnings
    said = doctor_feeds(capsys)
    assert [s for s, _ in said.values()] == ["ok", "ok"], said
    assert all("refused" not in text for _, text in said.values()), said
