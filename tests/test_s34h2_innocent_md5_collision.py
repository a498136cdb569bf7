"""An `innocent` verdict given by an MD5 or SHA-1 spared every file with that digest:
two different files with one MD5 are cheap to make (chosen-prefix collisions), SHA-1's
feasible (SHAttered). An attacker has a harmless file confirmed innocent at a peer, and
its abusive twin, the same MD5, was spared from every rule at every `allow-list`
subscriber, and left unclassified (the peer's `innocent` standing for the classifier's)
at every `classified` one. Such entries are left out now, as the feed is loaded, and
said; `feed publish` leaves them out. A `bad` MD5 entry still matches: a collision there
makes the bot act on a file that collides with a known-bad one, the safe direction."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from modbot.cli import main
from modbot.config.policy import load_policy
from modbot.feeds import Feed, FeedEntry, public_key_text, sign_feed, verify_feed
from modbot.rules import Subject, decide
from modbot.store import Store
from modbot.subscriptions import peer_verdict

# Wang and Yu's published MD5 collision (2004): two 128-byte blocks, one MD5.
HARMLESS = bytes.fromhex(
    "d131dd02c5e6eec4693d9a0698aff95c2fcab58712467eab4004583eb8fb7f89"
    "55ad340609f4b30283e488832571415a085125e8f7cdc99fd91dbdf280373c5b"
    "d8823e3156348f5bae6dacd436c919c6dd53e2b487da03fd02396306d248cda0"
    "e99f33420f577ee8ce54b67080a80d1ec69821bcb6a8839396f9652b6ff72a70"
)
TWIN = bytes.fromhex(
    "d131dd02c5e6eec4693d9a0698aff95c2fcab50712467eab4004583eb8fb7f89"
    "55ad340609f4b30283e4888325f1415a085125e8f7cdc99fd91dbd7280373c5b"
    "d8823e3156348f5bae6dacd436c919c6dd53e23487da03fd02396306d248cda0"
    "e99f33420f577ee8ce54b67080280d1ec69821bcb6a8839396f965ab6ff72a70"
)
# The same bytes after both keep the collision: the rest of two "images".
HARMLESS, TWIN = HARMLESS + b" rest of the file", TWIN + b" rest of the file"


def _hashes(data: bytes) -> dict[str, str]:
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),
        "sha1": hashlib.sha1(data).hexdigest(),
    }


def _subscribed(tmp_path: Path, use: str) -> tuple:
    """A policy subscribed (``use``) to a peer's feed holding the harmless file's hashes
    as `innocent` (as `modbot feed publish` wrote them before), its copy loaded; a rule
    removes what the classifier labels csam. (policy, the verified copy)"""
    assert HARMLESS != TWIN and _hashes(HARMLESS)["md5"] == _hashes(TWIN)["md5"]
    key = Ed25519PrivateKey.generate()
    seen = date.today()
    entries = tuple(
        FeedEntry(kind, value, "innocent", "false-positive", seen)
        for kind, value in _hashes(HARMLESS).items()
    )
    body, sig = sign_feed(
        Feed("peer.example", datetime.now(UTC).replace(microsecond=0), entries), key
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"feeds:\n  peer: {{url: 'https://peer.example/hashes.json', "
        f"key: '{public_key_text(key)}', use: {use}}}\n"
        "rules:\n  - name: csam\n    if: {labels: csam}\n    then: {remove: abuse}\n"
    )
    policy = load_policy(rules)
    verified = verify_feed(body, sig, public_key_text(key), instance="peer.example")
    policy.feeds["peer"].load(verified)
    return policy, verified


def test_an_allow_list_s_innocent_md5_does_not_spare_the_colliding_twin(
    tmp_path: Path, caplog
) -> None:
    with caplog.at_level(logging.WARNING, logger="modbot.subscriptions"):
        policy, verified = _subscribed(tmp_path, "allow-list")
    twin = _hashes(TWIN)
    plan = decide(
        policy, Subject(item_kind="post", labels=["csam"], sha256=twin["sha256"], hashes=twin)
    )
    assert plan.exempt is None, plan.exempt
    assert [a.kind for a in plan.actions] == ["remove"], plan.actions
    # the harmless file itself is still spared, by its SHA-256
    harmless = _hashes(HARMLESS)
    spared = decide(
        policy,
        Subject(item_kind="post", labels=["csam"], sha256=harmless["sha256"], hashes=harmless),
    )
    assert spared.exempt == "the image is on the allow-list 'peer' (feed sha256)"
    # left out, counted and said why, once
    assert verified.weak_innocent == 2 and len(policy.feeds["peer"]) == 1
    said = [r.getMessage() for r in caplog.records if "MD5" in r.getMessage()]
    assert len(said) == 1, said
    assert said[0].startswith("feed peer: 2 innocent MD5/SHA-1 entries left out, as a collision")


def test_a_classified_feed_s_innocent_md5_does_not_stand_for_the_classifier(
    tmp_path: Path,
) -> None:
    policy, _ = _subscribed(tmp_path, "classified")
    assert peer_verdict(policy, _hashes(TWIN)) is None  # the classifier decides it
    verdict = peer_verdict(policy, _hashes(HARMLESS))
    assert verdict is not None and verdict["peer"]["match"] == "sha256"


def test_a_bad_md5_entry_still_matches(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    md5 = _hashes(HARMLESS)["md5"]
    entry = FeedEntry("md5", md5, "bad", "csam", date.today())
    body, sig = sign_feed(
        Feed("peer.example", datetime.now(UTC).replace(microsecond=0), (entry,)), key
    )
    verified = verify_feed(body, sig, public_key_text(key), instance="peer.example")
    assert verified.feed.entries == (entry,) and verified.weak_innocent == 0
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"feeds:\n  peer: {{url: 'https://peer.example/hashes.json', "
        f"key: '{public_key_text(key)}', use: classified}}\n"
        "rules:\n  - name: csam\n    if: {labels: csam}\n    then: {remove: abuse}\n"
    )
    policy = load_policy(rules)
    policy.feeds["peer"].load(verified)
    verdict = peer_verdict(policy, _hashes(TWIN))
    assert verdict is not None and verdict["labels"] == ["csam"], verdict


def test_feed_publish_leaves_an_innocent_md5_out(tmp_path: Path, monkeypatch, capsys) -> None:
    state = tmp_path / "state.sqlite3"
    store = Store(state)
    hashes = _hashes(HARMLESS)
    bad = _hashes(b"a known-bad file")
    for sha256, verdict, label, kinds in (
        (hashes["sha256"], "innocent", "false-positive", hashes),
        (bad["sha256"], "bad", "csam", bad),
    ):
        store.set_confirmed(
            sha256,
            {
                "verdict": verdict,
                "label": label,
                "hashes": {k: {"hash": v} for k, v in kinds.items()},
                "first_seen": date.today().isoformat(),
                "confirmed_at": datetime.now(UTC).isoformat(),
                "decision_id": 1,
            },
        )
    store.close()
    monkeypatch.setenv("MODBOT_STATE", str(state))
    key = tmp_path / "feed.key"
    assert main(["keys", "--out", str(key)]) == 0
    out = tmp_path / "hashes.json"
    args = ["feed", "publish", "--key", str(key), "--out", str(out), "--instance", "a.example"]
    capsys.readouterr()
    assert main(args) == 0
    said = capsys.readouterr()
    body = out.read_text()
    assert hashes["sha256"] in body and bad["md5"] in body and bad["sha1"] in body
    assert hashes["md5"] not in body and hashes["sha1"] not in body, body
    text = said.out + said.err
    assert hashes["md5"] in text and "collide" in text, text


def test_feed_verify_counts_the_innocent_md5_entries_not_taken(tmp_path: Path, capsys) -> None:
    key = Ed25519PrivateKey.generate()
    entries = tuple(
        FeedEntry(kind, value, "innocent", "false-positive", date.today())
        for kind, value in _hashes(HARMLESS).items()
    )
    body, sig = sign_feed(
        Feed("peer.example", datetime.now(UTC).replace(microsecond=0), entries), key
    )
    (tmp_path / "hashes.json").write_bytes(body)
    (tmp_path / "hashes.json.sig").write_bytes(sig)
    status = main(["feed", "verify", str(tmp_path / "hashes.json"), "--key", public_key_text(key)])
    out = capsys.readouterr().out
    assert status == 0, out
    [said] = [line for line in out.splitlines() if "MD5/SHA-1" in line]
    assert said.startswith("  not taken: 2 innocent MD5/SHA-1 entries (a file made to collide")
