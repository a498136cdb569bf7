"""A pHash list entry that is the hash a picture of one colour all over had (every one
hashed to ``8000000000000000``, black to ``0000000000000000``, from HASHING 4 to 5), or
within the list's max_distance of one, matches plain and nearly plain pictures, not one
image: such an entry on a known-bad list removed and purged every near-blank post. It is
left out when the list is loaded, with a warning naming its line and why; a known file's
pHash taken before HASHING 6 (kept in the state) then matches nothing on the list."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from modbot.config.policy import load_policy
from modbot.feeds import (
    Feed,
    FeedEntry,
    generate_key,
    make_feed,
    public_key_text,
    sign_feed,
    verify_feed,
    verify_feed_files,
)
from modbot.hashes import HashList, perceptual_hash
from modbot.sharing import publish
from modbot.store import Store

DATA = Path(__file__).parent / "data"


def test_a_plain_picture_s_entry_is_left_out_and_said(tmp_path):
    photo = perceptual_hash((DATA / "coffee.jpg").read_bytes())
    (tmp_path / "bad.phash").write_text(
        "# blanks\n"
        "8000000000000000  # a white upload\n"
        f"{photo}\n"
        "0000000000000003  # black, two bits off\n"
        "80000000000000ff  # eight bits off: kept at max_distance 6\n"
    )
    listed = HashList.load(tmp_path / "bad.phash", "phash")
    assert [line for line, _, _ in listed.skipped] == [2, 4]
    assert all("one colour" in why for _, _, why in listed.skipped), listed.skipped
    assert len(listed) == 2
    assert listed.lookup({"phash": "8000000000000000"}) is None
    assert listed.lookup({"phash": photo}) is not None
    # a list matched within more bits leaves out more
    wider = HashList.load(tmp_path / "bad.phash", "phash", max_distance=8)
    assert [line for line, _, _ in wider.skipped] == [2, 4, 5]


def test_the_rules_file_s_check_warns_of_the_line(tmp_path):
    (tmp_path / "bad.phash").write_text("8000000000000000\n")
    (tmp_path / "rules.yaml").write_text(
        "classifier: {model: modbot-tiny, pretrained: null, device: cpu, "
        "allow_random_weights: true}\n"
        "hash_lists:\n  blank: {kind: phash, file: bad.phash}\n"
        "rules:\n  - name: listed\n    if: {hash_list: blank}\n    then: {remove: true}\n"
    )
    policy = load_policy(tmp_path / "rules.yaml")
    [said] = [w for w in policy.warnings if "bad.phash" in str(w)]
    assert ":1" in str(said) and "one colour" in str(said), said


# Feeds: what another instance published before HASHING 6 (or with `imagehash`).

NOW = datetime(2026, 12, 1, 6, 0, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def _entry(value: str) -> FeedEntry:
    return FeedEntry("phash", value, "bad", "csam", date(2026, 11, 2))


def test_a_feed_s_plain_picture_entry_is_dropped_with_a_warning(caplog):
    photo = perceptual_hash((DATA / "coffee.jpg").read_bytes())
    published = Feed(
        "lemmy.example",
        NOW - timedelta(hours=1),
        (_entry("0000000000000000"), _entry(photo), _entry("8000000000000000")),
    )
    body, sig = sign_feed(published, KEY)
    with caplog.at_level(logging.WARNING, "modbot.feeds"):
        verified = verify_feed(body, sig, public_key_text(KEY), now=NOW)
    assert [e.hash for e in verified.feed.entries] == [photo]
    index = verified.feed.index("phash", "bad")
    assert index.lookup("8000000000000000") is None and index.lookup(photo) is not None
    [said] = [r.getMessage() for r in caplog.records if r.name == "modbot.feeds"]
    assert "lemmy.example" in said and "2 pHash entries" in said and "entry 1" in said, said
    assert "one colour" in said


def test_a_plain_picture_s_phash_is_never_published():
    with pytest.raises(ValueError, match="one colour"):
        make_feed("lemmy.example", [_entry("8000000000000001")], generated_at=NOW)


def test_a_confirmed_file_s_plain_phash_is_left_out_of_the_published_feed(tmp_path):
    """A blank image confirmed bad under HASHING 4 or 5 kept its pHash 8000000000000000
    in the state: `modbot feed publish` leaves it out, saying why, and publishes the rest."""
    store = Store(tmp_path / "state.sqlite3")
    key = tmp_path / "feed.key"
    public = generate_key(key)
    store.set_confirmed(
        "b" * 64,
        {
            "verdict": "bad",
            "label": "csam",
            "hashes": {"sha256": {"hash": "b" * 64}, "phash": {"hash": "8000000000000000"}},
            "first_seen": "2026-11-01",
            "confirmed_at": "2026-11-02T00:00:00Z",
        },
    )
    done = publish(store, instance="a.example", key_path=key, out=tmp_path / "feed.json")
    entries = {(e.kind, e.hash) for e in verify_feed_files(done.feed_path, public).feed.entries}
    assert entries == {("sha256", "b" * 64)}
    [(kind, value, why)] = done.left_out
    assert (kind, value) == ("phash", "8000000000000000") and "one colour" in why
