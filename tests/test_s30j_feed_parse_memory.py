"""A signed feed of tiny JSON values (a hostile peer holding its key, or a broken
publisher) is refused before it is parsed: parsed, each `{}` of 3 bytes costs ~70 bytes,
so a 32 MB feed of them took ~800 MB of the bot's (and the gate's) memory, where a full
feed of 200,000 entries takes about 80."""

from __future__ import annotations

import base64
import hashlib
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from modbot.cli import main
from modbot.feeds import CONTEXT, SIGNATURE_FORMAT, public_key_text

SIZE = 6_000_000  # bytes of the feed: 2 million objects of 3 bytes


def signed(key: Ed25519PrivateKey, body: bytes) -> bytes:
    """The signature file of ``body``, as `modbot feed publish` writes one."""
    signature = base64.b64encode(key.sign(CONTEXT + body)).decode()
    return (
        f"{SIGNATURE_FORMAT}\nkey: {public_key_text(key)}\n"
        f"sha256: {hashlib.sha256(body).hexdigest()}\nsignature: ed25519:{signature}\n"
    ).encode()


@pytest.mark.parametrize(
    ("unit", "what"),
    [(b"{},", "JSON objects and arrays"), (b"[],", "JSON objects and arrays"), (b"0.0,", "values")],
    ids=["objects", "arrays", "numbers"],
)
def test_a_feed_of_tiny_values_is_refused_unparsed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], unit: bytes, what: str
) -> None:
    key = Ed25519PrivateKey.generate()
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    head = (
        '{"format":"modbot-hash-feed/1","instance":"peer.example",'
        f'"generated_at":"{when}","entries":['
    ).encode()
    n = (SIZE - len(head)) // len(unit)
    body = head + unit * n + b"{}]}"
    feed = tmp_path / "hashes.json"
    feed.write_bytes(body)
    (tmp_path / "hashes.json.sig").write_bytes(signed(key, body))

    tracemalloc.start()
    try:
        status = main(["feed", "verify", str(feed), "--key", public_key_text(key)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 1
    err = capsys.readouterr().err
    # the units, the last {}, the feed's object and its array; or the commas and one
    counted = n + 3 if what.startswith("JSON") else n + 4
    assert err == (
        f"modbot feed verify: the feed holds {counted:,} {what}, more than a feed of "
        "200,000 entries holds: refused unread\n"
    )
    # the file read and checked: about its size (a parse took over 20 times it)
    assert peak < 3 * len(body)
