"""A `use: classified` feed's `bad` verdict stands for the classifier only where a rule
names its label (a feed never makes the bot do less). The rules counted were every
rule, though the gate's (`type: incoming`) and the others never meet each other's
files: with the gate refusing `labels: [csam]` and the posts' rules acting on `nsfw`, a
peer's csam verdict on a file in a post stood for the classifier there, and no rule of
a post acts on csam: the image was left unclassified and unacted on (the classifier
would have labelled it and the nsfw rule removed it). `peer_verdict` now takes the side
its caller decides for.

Needed outside this helper's files: the callers saying their side (the gate,
`incoming=True`; acquire, `incoming=False`)."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from modbot.config.policy import load_policy
from modbot.feeds import FeedEntry, make_feed, public_key_text, sign_feed, verify_feed
from modbot.subscriptions import peer_verdict

SHA = hashlib.sha256(b"a file the peer confirmed").hexdigest()


def _policy(tmp_path: Path, gate_label: str, post_label: str):
    key = Ed25519PrivateKey.generate()
    (tmp_path / "rules.yaml").write_text(
        "classifier: {model: modbot-tiny, pretrained: null, device: cpu, "
        "allow_random_weights: true}\n"
        "feeds:\n"
        f"  peer: {{url: 'https://peer.example/h.json', key: '{public_key_text(key)}', "
        "use: classified}\n"
        "rules:\n"
        "  - name: at the gate\n"
        f"    if: {{type: incoming, labels: [{gate_label}]}}\n"
        "    then: {reject: true}\n"
        "  - name: in posts\n"
        f"    if: {{labels: [{post_label}]}}\n"
        "    then: {remove: true}\n"
    )
    policy = load_policy(tmp_path / "rules.yaml")
    entry = FeedEntry("sha256", SHA, "bad", "csam", date.today())
    body, sig = sign_feed(make_feed("peer.example", [entry], generated_at=datetime.now(UTC)), key)
    policy.feeds["peer"].load(verify_feed(body, sig, public_key_text(key)))
    return policy


def test_a_label_only_the_gate_names_is_no_verdict_for_a_post(tmp_path: Path) -> None:
    policy = _policy(tmp_path, gate_label="csam", post_label="nsfw")
    assert peer_verdict(policy, {"sha256": SHA}, incoming=False) is None
    stood = peer_verdict(policy, {"sha256": SHA}, incoming=True)
    assert stood is not None and stood["labels"] == ["csam"]


def test_a_label_only_the_posts_rules_name_is_no_verdict_at_the_gate(tmp_path: Path) -> None:
    policy = _policy(tmp_path, gate_label="nsfw", post_label="csam")
    assert peer_verdict(policy, {"sha256": SHA}, incoming=True) is None
    stood = peer_verdict(policy, {"sha256": SHA}, incoming=False)
    assert stood is not None and stood["labels"] == ["csam"]
