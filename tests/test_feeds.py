"""Signed hash feeds: the file a publishing instance writes, its Ed25519 signature, the
keys, and every way a subscriber refuses a feed (`modbot.feeds`)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from modbot import feeds
from modbot.feeds import (
    Feed,
    FeedChanged,
    FeedEntry,
    FeedMalformed,
    FeedRollback,
    FeedSignatureError,
    FeedStale,
    FeedTooLarge,
    FeedVersionError,
    FeedWrongInstance,
    FeedWrongKey,
    KeyFileError,
    generate_key,
    load_private_key,
    make_feed,
    parse_public_key,
    public_key_text,
    sign_feed,
    verify_feed,
    verify_feed_files,
    write_feed,
)
from modbot.hashes import HASH_KINDS

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 12, 1, 6, 0, 0, tzinfo=UTC)
# A fixed key, so the bytes below are the same on every run (Ed25519 is deterministic).
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))


def photo(name: str) -> bytes:
    return (DATA / f"{name}.jpg").read_bytes()


def entries() -> list[FeedEntry]:
    coffee, china = photo("coffee"), photo("china")
    pdq = HASH_KINDS["pdq"].compute(coffee)
    return [
        FeedEntry("pdq", pdq.hex, "bad", "csam", date(2026, 11, 2), pdq.quality),
        FeedEntry(
            "sha256", HASH_KINDS["sha256"].compute(coffee).hex, "bad", "csam", date(2026, 11, 2)
        ),
        FeedEntry(
            "md5",
            HASH_KINDS["md5"].compute(china).hex,
            "innocent",
            "false-positive",
            date(2026, 11, 3),
        ),
    ]


def feed() -> Feed:
    return make_feed("lemmy.example", entries(), generated_at=NOW - timedelta(hours=1))


def sign_raw(body: bytes, key: Ed25519PrivateKey = KEY) -> bytes:
    """A correct signature file for any bytes: what a publisher's bug would ship."""
    sig = key.sign(feeds.CONTEXT + body)
    return (
        f"{feeds.SIGNATURE_FORMAT}\n"
        f"key: {public_key_text(key)}\n"
        f"sha256: {hashlib.sha256(body).hexdigest()}\n"
        f"signature: ed25519:{base64.b64encode(sig).decode()}\n"
    ).encode()


def verify(body: bytes, sig: bytes, **kwargs):
    kwargs.setdefault("now", NOW)
    return verify_feed(body, sig, public_key_text(KEY), **kwargs)


def test_sign_and_verify_round_trip_through_files(tmp_path: Path):
    published = feed()
    feed_path, sig_path = write_feed(tmp_path / "hashes.json", published, KEY)
    assert sig_path == tmp_path / "hashes.json.sig"
    assert stat.S_IMODE(feed_path.stat().st_mode) == 0o644 == stat.S_IMODE(sig_path.stat().st_mode)
    verified = verify_feed_files(feed_path, public_key_text(KEY), instance="lemmy.example", now=NOW)
    assert verified.feed == published and verified.ignored == 0
    assert verified.key == public_key_text(KEY)
    assert verified.sha256 == hashlib.sha256(feed_path.read_bytes()).hexdigest()
    # A subscriber matches a re-encoded copy of the confirmed image against the feed.
    copy = io.BytesIO()
    Image.open(io.BytesIO(photo("coffee"))).resize((300, 200)).save(copy, "JPEG", quality=50)
    found = verified.feed.index("pdq", "bad").lookup(HASH_KINDS["pdq"].compute(copy.getvalue()))
    assert found is not None and found.payload.label == "csam" and found.distance <= 31
    assert (
        verified.feed.index("pdq", "innocent").lookup(HASH_KINDS["pdq"].compute(copy.getvalue()))
        is None
    )
    md5 = verified.feed.index("md5").lookup(HASH_KINDS["md5"].compute(photo("china")))
    assert md5 is not None and md5.payload.verdict == "innocent"


def test_the_feed_file_is_canonical_and_readable():
    body, sig = sign_feed(feed(), KEY)
    assert sign_feed(
        make_feed("lemmy.example", reversed(entries()), generated_at=NOW - timedelta(hours=1)), KEY
    ) == (body, sig)
    lines = body.decode("ascii").split("\n")
    assert lines[0] == (
        '{"format":"modbot-hash-feed/1","instance":"lemmy.example",'
        '"generated_at":"2026-12-01T05:00:00Z","entries":['
    )
    assert [json.loads(line.rstrip(","))["kind"] for line in lines[1:4]] == ["md5", "pdq", "sha256"]
    assert json.loads(lines[2].rstrip(",")) == {
        "kind": "pdq",
        "hash": HASH_KINDS["pdq"].compute(photo("coffee")).hex,
        "quality": 100,
        "verdict": "bad",
        "label": "csam",
        "first_seen": "2026-11-02",
    }
    assert lines[4:] == ["]}", ""]
    assert json.loads(body)["entries"][0]["label"] == "false-positive"
    sig_lines = sig.decode().splitlines()
    assert sig_lines[0] == "modbot-hash-feed-signature/1"
    assert sig_lines[1] == f"key: {public_key_text(KEY)}"
    assert sig_lines[2] == f"sha256: {hashlib.sha256(body).hexdigest()}"
    assert sig_lines[3].startswith("signature: ed25519:") and len(sig_lines) == 4
    empty, _ = sign_feed(make_feed("lemmy.example", [], generated_at=NOW), KEY)
    assert verify(empty, _).feed.entries == ()


def test_a_tampered_entry_is_refused():
    body, sig = sign_feed(feed(), KEY)
    tampered = body.replace(b'"innocent"', b'"bad"')
    assert tampered != body
    with pytest.raises(FeedChanged, match="the feed does not match its signature file") as caught:
        verify(tampered, sig)
    assert "fetch both again" in str(caught.value) and caught.value.reason == "changed"
    # The tamperer also rewrote the SHA-256 line: the signature itself fails.
    fixed = sig.replace(
        hashlib.sha256(body).hexdigest().encode(), hashlib.sha256(tampered).hexdigest().encode()
    )
    with pytest.raises(
        FeedSignatureError, match="bad signature: the feed or its signature file was altered"
    ) as caught:
        verify(tampered, fixed)
    assert caught.value.reason == "bad_signature"


def test_a_feed_signed_by_another_key_is_refused():
    body, sig = sign_feed(feed(), OTHER_KEY)
    with pytest.raises(FeedWrongKey) as caught:
        verify(body, sig)
    assert str(caught.value) == (
        f"signed by {public_key_text(OTHER_KEY)}, but the key trusted for this feed is "
        f"{public_key_text(KEY)}: the publisher changed keys (ask them, then update "
        "rules.yaml) or this is not their feed"
    )
    # Another key that claims to be the trusted one: the signature does not verify.
    forged = sig.replace(public_key_text(OTHER_KEY).encode(), public_key_text(KEY).encode())
    with pytest.raises(FeedSignatureError, match="bad signature"):
        verify(body, forged)


def test_the_signature_covers_the_context_prefix():
    body, sig = sign_feed(feed(), KEY)
    bare = KEY.sign(body)  # the same bytes signed without "modbot-hash-feed-v1\n"
    replayed = sig.replace(sig.splitlines()[3], b"signature: ed25519:" + base64.b64encode(bare))
    with pytest.raises(FeedSignatureError, match="bad signature"):
        verify(body, replayed)


@pytest.mark.parametrize(
    "damage, error, message",
    [
        (lambda b, s: (b[: len(b) // 2], s), FeedChanged, "does not match its signature file"),
        (
            lambda b, s: (b, s[:-30]),
            FeedMalformed,
            "the signature file is malformed: the signature is not valid base64",
        ),
        (
            lambda b, s: (b, s.splitlines(keepends=True)[0] + s.splitlines(keepends=True)[1]),
            FeedMalformed,
            "no sha256, signature line",
        ),
        (
            lambda b, s: (b, b""),
            FeedMalformed,
            "its first line should be 'modbot-hash-feed-signature/1', not ''",
        ),
        (
            lambda b, s: (b, b"\x89PNG\r\n\x1a\n" + bytes(range(200))),
            FeedMalformed,
            "it is not ASCII text",
        ),
        (
            lambda b, s: (b, b"<html><body>Not found</body></html>\n"),
            FeedMalformed,
            "its first line should be",
        ),
        (
            lambda b, s: (b, s.replace(b"signature: ed25519:", b"signature: ed25519:AAAA")),
            FeedMalformed,
            "an Ed25519 signature is 64 bytes, this one is 67",
        ),
        (
            lambda b, s: (b, s.replace(b"-signature/1", b"-signature/2")),
            FeedVersionError,
            "this modbot reads modbot-hash-feed-signature/1: upgrade modbot",
        ),
        (lambda b, s: (b, s + b"extra: line\n"), FeedMalformed, "unexpected line 'extra: line'"),
        (
            lambda b, s: (b"<!DOCTYPE html><html>Just a moment...</html>", s),
            FeedChanged,
            "the feed file is not a modbot feed: it starts "
            "'<!DOCTYPE html><html>Just a moment...</h'",
        ),
        (lambda b, s: (os.urandom(300), s), FeedChanged, "does not match its signature file"),
        (
            lambda b, s: (b + b"x" * 2000, s),
            FeedTooLarge,
            "the feed is over 1,500 bytes: refused unread",
        ),
        (lambda b, s: (b, s + b"#" * 1024), FeedTooLarge, "the signature file is over 1,024 bytes"),
    ],
)
def test_truncated_oversized_and_garbage_files_are_refused_with_what_is_wrong(
    damage, error, message
):
    body, sig = sign_feed(feed(), KEY)
    assert len(body) < 1500
    bad_body, bad_sig = damage(body, sig)
    with pytest.raises(error) as caught:
        verify(bad_body, bad_sig, max_bytes=1500)
    assert message in str(caught.value)


def test_files_over_the_limit_or_not_files_are_refused_before_reading(tmp_path: Path):
    feed_path, _ = write_feed(tmp_path / "hashes.json", feed(), KEY)
    with pytest.raises(FeedTooLarge, match="too large"):
        verify_feed_files(feed_path, public_key_text(KEY), now=NOW, max_bytes=100)
    (tmp_path / "hashes.json.sig").unlink()
    (tmp_path / "hashes.json.sig").mkdir()
    with pytest.raises(FeedMalformed, match="not a regular file: it is a directory"):
        verify_feed_files(feed_path, public_key_text(KEY), now=NOW)
    with pytest.raises(FileNotFoundError):
        verify_feed_files(tmp_path / "absent.json", public_key_text(KEY), now=NOW)


def signed_json(value, **changes) -> tuple[bytes, bytes]:
    body = json.dumps(value).encode() if not isinstance(value, bytes) else value
    return body, sign_raw(body)


def good_json() -> dict:
    return json.loads(feed().to_bytes())


@pytest.mark.parametrize(
    "change, error, message",
    [
        (
            lambda d: d.update(format="modbot-hash-feed/2"),
            FeedVersionError,
            "the feed's format is modbot-hash-feed/2, newer than what this modbot reads "
            "(modbot-hash-feed/1): upgrade modbot",
        ),
        (
            lambda d: d.update(format="something-else"),
            FeedMalformed,
            "'format' is 'something-else', not 'modbot-hash-feed/1'",
        ),
        (lambda d: d.pop("instance"), FeedMalformed, "the feed's fields: missing 'instance'"),
        (
            lambda d: d.update(urls=["https://lemmy.example/pictrs/image/x.jpg"]),
            FeedMalformed,
            "the feed's fields: unknown 'urls'",
        ),
        (
            lambda d: d["entries"][0].update(url="https://lemmy.example/post/1"),
            FeedMalformed,
            "entry 1: unknown 'url'",
        ),
        (
            lambda d: d["entries"][1].update(label="https://lemmy.example/u/someone"),
            FeedMalformed,
            "entry 2: label 'https://lemmy.example/u/someone': 1-40 lower-case letters",
        ),
        (
            lambda d: d["entries"][1].update(verdict="maybe"),
            FeedMalformed,
            "entry 2: verdict 'maybe' is not 'bad' or 'innocent'",
        ),
        (
            lambda d: d["entries"][1].update(hash="abc"),
            FeedMalformed,
            "entry 2: hash: expected a PDQ hash (64 hex digits), got 'abc'",
        ),
        (
            lambda d: d["entries"][1].pop("quality"),
            FeedMalformed,
            "entry 2: a pdq entry needs its quality, 0 to 100, not None",
        ),
        (
            lambda d: d["entries"][0].update(quality=80),
            FeedMalformed,
            "entry 1: quality is for pdq entries only, not md5",
        ),
        (
            lambda d: d["entries"][0].update(kind="CRC 32"),  # (no kind's name: see s32h)
            FeedMalformed,
            "entry 1: kind 'CRC 32' is not one of sha256, md5, sha1, phash, pdq",
        ),
        (
            lambda d: d["entries"][0].update(first_seen="yesterday"),
            FeedMalformed,
            "entry 1: first_seen 'yesterday' is not YYYY-MM-DD",
        ),
        (lambda d: d["entries"].append(dict(d["entries"][0])), FeedMalformed, "entry 4: md5 "),
        (lambda d: d.update(entries={"a": 1}), FeedMalformed, "'entries' is not a list"),
        (
            lambda d: d.update(generated_at="2026-12-01 05:00"),
            FeedMalformed,
            "generated_at '2026-12-01 05:00' is not a UTC time",
        ),
        (
            lambda d: d.update(instance="https://lemmy.example/"),
            FeedMalformed,
            "the feed's instance 'https://lemmy.example/' is not a lower-case host name",
        ),
    ],
)
def test_a_signed_but_malformed_feed_is_refused_with_the_field(change, error, message):
    data = good_json()
    change(data)
    with pytest.raises(error) as caught:
        verify(*signed_json(data))
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "body, message",
    [
        (b'{"format": "modbot-hash-feed/1", "format": "x"}', "the key 'format' appears twice"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"\xff\xfe{}", "the feed is not UTF-8"),
        (b"not json at all", "the feed is not valid JSON"),
        (b"[1, 2]", "the feed is not a JSON object"),
    ],
)
def test_signed_garbage_is_malformed_and_says_the_publisher_made_it(body, message):
    with pytest.raises(FeedMalformed, match=message):
        verify(body, sign_raw(body))


def test_too_many_entries_are_refused_before_each_is_checked():
    data = good_json()
    data["entries"] = [data["entries"][0]] * 50  # duplicates: never looked at
    # counted before the JSON is parsed: 50 entries' objects, the feed's, its array
    with pytest.raises(
        FeedTooLarge, match="the feed holds 52 JSON objects and arrays, more than a feed of 10"
    ):
        verify(*signed_json(data), max_entries=10)


def test_stale_future_and_rolled_back_feeds_are_refused():
    body, sig = sign_feed(feed(), KEY)  # generated at 05:00
    assert verify(body, sig, now=NOW + timedelta(days=6)).feed == feed()
    with pytest.raises(FeedStale) as caught:
        verify(body, sig, now=NOW + timedelta(days=8))
    assert str(caught.value) == (
        "the feed was generated at 2026-12-01T05:00:00Z, 8 days ago, over the 7 days a "
        "feed may be old: the publisher has stopped updating it"
    )
    assert caught.value.reason == "stale"
    assert verify(body, sig, now=NOW + timedelta(days=30), max_age=None).feed == feed()
    assert verify(body, sig, now=NOW + timedelta(days=30), max_age=timedelta(days=60))
    with pytest.raises(
        FeedStale, match="3 hours from now: the publisher's clock or this machine's is wrong"
    ):
        verify(body, sig, now=NOW - timedelta(hours=4))
    verify(body, sig, now=NOW - timedelta(hours=1, minutes=-5))  # within the clock skew
    with pytest.raises(
        FeedRollback, match="before the copy already accepted \\(2026-12-01T05:30:00Z\\)"
    ):
        verify(body, sig, accepted_at=NOW - timedelta(minutes=30))
    assert verify(body, sig, accepted_at=NOW - timedelta(hours=1))  # the same copy again


def test_a_feed_from_another_instance_is_refused():
    body, sig = sign_feed(feed(), KEY)
    with pytest.raises(FeedWrongInstance, match=r"published by lemmy\.example, not other\.example"):
        verify(body, sig, instance="other.example")
    assert verify(body, sig, instance="Lemmy.Example")
    port, port_sig = sign_feed(make_feed("127.0.0.1:8536", [], generated_at=NOW), KEY)
    assert verify(port, port_sig, instance="127.0.0.1:8536").feed.instance == "127.0.0.1:8536"


def test_low_quality_pdq_entries_are_not_published_and_ignored_when_received():
    low = FeedEntry("pdq", "0" * 64, "bad", "csam", date(2026, 11, 2), quality=20)
    assert not low.usable
    with pytest.raises(ValueError, match="quality 20 is under 50; such a hash matches nothing"):
        make_feed("lemmy.example", [low])
    data = good_json()
    data["entries"].append(low.to_dict())
    verified = verify(*signed_json(data))
    assert verified.ignored == 1
    assert [e.kind for e in verified.feed.entries] == ["md5", "pdq", "sha256"]
    assert verified.feed.index("pdq").lookup("0" * 64) is None


def test_make_feed_refuses_what_a_feed_must_not_hold():
    e = entries()
    with pytest.raises(ValueError, match="is in the feed twice"):
        make_feed("lemmy.example", [e[0], e[0]])
    with pytest.raises(ValueError, match=r"label 'see https://x\.example/post/1'"):
        FeedEntry("md5", "0" * 32, "bad", "see https://x.example/post/1", date(2026, 1, 1))
    with pytest.raises(ValueError, match="is not a lower-case host name"):
        make_feed("https://lemmy.example", e)
    # What an entry can carry at all: no field for a URL, a user, a post or an image.
    assert set(e[0].to_dict()) == {"kind", "hash", "quality", "verdict", "label", "first_seen"}


# Keys.


def test_generate_key_writes_a_private_file_and_a_pasteable_public_key(tmp_path: Path):
    path = tmp_path / "feed.key"
    public = generate_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert (tmp_path / "feed.key.pub").read_text() == public + "\n"
    assert public.startswith("ed25519:") and len(public) == 52
    key = load_private_key(path)
    assert public_key_text(key) == public
    assert public_key_text(parse_public_key(f"  {public}\n")) == public
    body, sig = sign_feed(feed(), key)
    assert verify_feed(body, sig, public, now=NOW).feed == feed()


def test_generate_key_keeps_an_existing_key(tmp_path: Path):
    path = tmp_path / "feed.key"
    first = generate_key(path)
    with pytest.raises(KeyFileError, match="already exists: a new key means every subscriber"):
        generate_key(path)
    assert public_key_text(load_private_key(path)) == first
    second = generate_key(path, overwrite=True)
    assert second != first and public_key_text(load_private_key(path)) == second
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_generate_key_is_private_whatever_the_umask(tmp_path: Path):
    old = os.umask(0)
    try:
        generate_key(tmp_path / "feed.key")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "feed.key").stat().st_mode) == 0o600


def test_a_private_key_others_can_read_is_refused(tmp_path: Path):
    path = tmp_path / "feed.key"
    generate_key(path)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match=r"can be read by others \(mode 0644\).*chmod 600"):
        load_private_key(path)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a key\n", "is not a PEM private key"),
        (
            Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"passphrase"),
            ),
            "is encrypted with a passphrase",
        ),
        (b"\0" * 10, "binary content"),
        (b"x" * 5000, "too large"),
    ],
)
def test_a_key_file_that_is_not_a_key_is_refused(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "feed.key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match=message):
        load_private_key(path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", "a public key is written 'ed25519:' and 44 base64"),
        ("ed25519:not base64!", "is not valid base64"),
        ("ed25519:" + base64.b64encode(b"x" * 31).decode(), "32 bytes, this one is 31"),
    ],
)
def test_a_malformed_public_key_says_what_is_wrong(text: str, message: str):
    with pytest.raises(KeyFileError, match=message):
        parse_public_key(text)
    body, sig = sign_feed(feed(), KEY)
    with pytest.raises(KeyFileError, match=message):
        verify_feed(body, sig, text, now=NOW)


def test_the_example_in_the_docs_is_a_real_signed_feed():
    text = (Path(__file__).parents[1] / "docs" / "hash-sharing.md").read_text()
    blocks = re.findall(r"```\w*\n(.*?)```", text, re.DOTALL)
    body = next(b for b in blocks if b.startswith('{"format"')).encode()
    sig = next(b for b in blocks if b.startswith("modbot-hash-feed-signature/1")).encode()
    key = re.search(r"^key: (\S+)$", sig.decode(), re.MULTILINE).group(1)
    verified = verify_feed(body, sig, key, instance="lemmy.example", now=NOW)
    assert [(e.kind, e.verdict) for e in verified.feed.entries] == [
        ("md5", "innocent"),
        ("pdq", "bad"),
    ]
    assert verified.feed.to_bytes() == body  # the canonical layout, as published
