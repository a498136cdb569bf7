"""A feed entry of a hash kind this modbot does not know (a publisher's newer modbot
adding one as the standards grow: a video hash, TMK) refused the whole feed as
malformed: every subscriber's list stopped updating, and lost it altogether where no
copy was kept yet. Now such entries are skipped and counted, said once a copy is
fetched (and by `modbot feed verify`), and the rest is used; a feed of which no entry
is of a known kind is still refused (it would hold nothing here: upgrade modbot)."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fakelemmy import FakeLemmy
from modbot.cli import main
from modbot.config.policy import load_policy
from modbot.feeds import (
    CONTEXT,
    FeedMalformed,
    FeedUnknownKinds,
    public_key_text,
    verify_feed,
)
from modbot.store import Store
from modbot.subscriptions import refresh, refusal

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
BAD = hashlib.sha256(b"bad").hexdigest()
WHEN = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def entry(kind: str, value: str, **more: object) -> dict[str, object]:
    return {"kind": kind, "hash": value, "verdict": "bad", "label": "csam"} | {
        "first_seen": "2026-11-02",
        **more,
    }


def signed(entries: list[dict[str, object]]) -> tuple[bytes, bytes]:
    """A feed as a newer publisher writes it (the canonical layout), and its signature."""
    head = json.dumps(
        {
            "format": "modbot-hash-feed/1",
            "instance": "peer.example",
            "generated_at": WHEN.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        separators=(",", ":"),
    )
    lines = ",\n".join(json.dumps(e, separators=(",", ":")) for e in entries)
    body = f'{head[:-1]},"entries":[\n{lines}\n]}}\n'.encode()
    sig = (
        "modbot-hash-feed-signature/1\n"
        f"key: {public_key_text(KEY)}\n"
        f"sha256: {hashlib.sha256(body).hexdigest()}\n"
        f"signature: ed25519:{base64.b64encode(KEY.sign(CONTEXT + body)).decode()}\n"
    ).encode()
    return body, sig


MIXED = [
    entry("sha256", BAD),
    entry("video_md5", "0" * 32),
    entry("tmk", "ab" * 600),
    entry("video_md5", "1" * 32, quality=80),
]


def subscribe(lemmy: FakeLemmy, tmp_path: Path, body: bytes, sig: bytes):
    lemmy.add_remote_file("hashes.json", body, content_type="application/json")
    lemmy.add_remote_file("hashes.json.sig", sig, content_type="text/plain")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"feeds:\n  peer: {{url: '{lemmy.remote_url}/hashes.json', "
        f"key: '{public_key_text(KEY)}', use: known-bad, instance: peer.example}}\n"
    )
    return load_policy(rules), Store(tmp_path / "state.sqlite3")


def test_entries_of_unknown_kinds_are_skipped_counted_and_said(
    fake_lemmy: FakeLemmy, tmp_path: Path, caplog
) -> None:
    remote = fake_lemmy.remote_url.split("//", 1)[1]
    policy, store = subscribe(fake_lemmy, tmp_path, *signed(MIXED))
    warnings: list[str] = []
    with caplog.at_level(logging.INFO, logger="modbot.subscriptions"):
        refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert warnings == []
    peer = policy.feeds["peer"]
    assert peer.lookup({"sha256": BAD}) == "feed sha256"
    assert len(peer) == 1 and peer.kinds == frozenset({"sha256"})
    said = [
        (r.levelno, r.getMessage()) for r in caplog.records if r.getMessage().startswith("feed ")
    ]
    assert (
        logging.WARNING,
        "feed peer: 3 entries of kinds this modbot does not know (video_md5: 2, tmk: 1) "
        "skipped: upgrade modbot to use them; the other entries are used",
    ) in said
    assert store.feed_copy("peer") is not None  # kept, for the next start
    store.close()


def test_a_feed_of_unknown_kinds_only_is_refused(fake_lemmy: FakeLemmy, tmp_path: Path) -> None:
    remote = fake_lemmy.remote_url.split("//", 1)[1]
    policy, store = subscribe(fake_lemmy, tmp_path, *signed(MIXED[1:]))
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    (said,) = warnings
    assert said == (
        f"feed 'peer' ({fake_lemmy.remote_url}/hashes.json) refused: none of its 3 entries "
        "is of a kind this modbot knows (video_md5: 2, tmk: 1): upgrade modbot, or ask its "
        "publisher; no copy of it is used"
    )
    kept = refusal(store, policy.feeds["peer"])
    assert kept is not None and kept["reason"] == "unknown_kinds"
    store.close()


@pytest.mark.parametrize(
    ("bad_entry", "message"),
    [
        (entry("video_md5", "0" * 32, url="https://x.example/v.mp4"), "entry 2: unknown 'url'"),
        (
            entry("video_md5", "0" * 32, label="https://x.example/u/a"),
            "entry 2: label 'https://x.example/u/a': 1-40 lower-case letters",
        ),
        (entry("Video MD5", "0" * 32), "entry 2: kind 'Video MD5' is not one of sha256, md5"),
        (entry("video_md5", "not hex"), "entry 2: hash: a video_md5 hash is lower-case hex"),
        (entry("video_md5", "0" * 32, quality=101), "entry 2: quality 101 is not 0 to 100"),
        (entry("video_md5", "0" * 32, first_seen="2026-02-30"), "entry 2: day is out of range"),
        (
            entry("video_md5", "0" * 32, verdict="maybe"),
            "entry 2: verdict 'maybe' is not 'bad' or 'innocent'",
        ),
    ],
)
def test_an_unknown_kind_s_entry_is_still_held_to_the_format(
    bad_entry: dict[str, object], message: str
) -> None:
    """Skipped is not unread: no field for a URL or a name, in any entry."""
    with pytest.raises(FeedMalformed) as caught:
        verify_feed(*signed([MIXED[0], bad_entry]), public_key_text(KEY))
    assert message in str(caught.value)


def test_feed_verify_says_what_it_skipped(tmp_path: Path, capsys) -> None:
    feed = tmp_path / "hashes.json"
    body, sig = signed(MIXED)
    feed.write_bytes(body)
    (tmp_path / "hashes.json.sig").write_bytes(sig)
    assert main(["feed", "verify", str(feed), "--key", public_key_text(KEY)]) == 0
    out = capsys.readouterr().out
    assert "  sha256 bad: 1\n" in out
    assert (
        "  skipped: 3 entries of kinds this modbot does not know (video_md5: 2, tmk: 1): "
        "upgrade modbot to use them\n"
    ) in out

    body, sig = signed(MIXED[1:])
    feed.write_bytes(body)
    (tmp_path / "hashes.json.sig").write_bytes(sig)
    assert main(["feed", "verify", str(feed), "--key", public_key_text(KEY)]) == 1
    err = capsys.readouterr().err
    assert "none of its 3 entries is of a kind this modbot knows" in err
    with pytest.raises(FeedUnknownKinds):
        verify_feed(body, sig, public_key_text(KEY))


def test_a_new_subscription_to_an_empty_feed_is_not_refused() -> None:
    """No entries at all is not "every entry unknown": a new publisher's first feed."""
    verified = verify_feed(*signed([]), public_key_text(KEY))
    assert verified.feed.entries == () and verified.skipped == 0
