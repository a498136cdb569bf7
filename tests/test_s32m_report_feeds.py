"""`modbot report` (from the record) decides the window with the subscribed feeds as the
run had them: their kept copies, as a run loads them at its start. Without them a file
the run removed because a peer's feed lists it read "no rule matched", and a verdict a
peer's feed gave (`use: classified`) read as a classifier's of another model."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from support.bot import remote_photo
from support.cli import bot_environment

from modbot.cli import main

CLASSIFIER = """
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
fetch: {{allow_hosts: ["{remote}"]}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
safety_valve: {{max_destructive_actions_per_hour: 1000}}
feeds:
  peer: {{url: "https://peer.example/hashes.json", key: "{key}", use: {use},
          instance: peer.example}}
rules:
  - name: peer says csam
    if: {{labels: csam}}
    then: {{remove: "known abusive image"}}
"""
KNOWN_BAD = """
  - name: known bad
    priority: 10
    if: {hash_list: [peer]}
    then: {remove: "known abusive image"}
"""


def keep_feed(state: Path, key, sha256: str) -> None:
    """A verified copy of the peer's feed listing ``sha256`` as bad (csam), kept in the
    state file as a fetch keeps it, fetched just now (not due again)."""
    from modbot.feeds import FeedEntry, make_feed, sign_feed
    from modbot.store import Store

    entries = [FeedEntry("sha256", sha256, "bad", "csam", date.today())]
    feed = make_feed("peer.example", entries, generated_at=datetime.now(UTC) - timedelta(hours=1))
    body, signature = sign_feed(feed, key)
    store = Store(state)
    store.keep_feed_copy(
        "peer",
        {
            "body": body,
            "signature": signature,
            "fetched_at": time.time(),
            "generated_at": feed.generated_at.isoformat(),
        },
    )
    store.close()


@pytest.mark.slow
@pytest.mark.parametrize("use", ["known-bad", "classified"])
def test_a_report_from_the_record_decides_with_the_feeds_kept_copies(
    use, fake_lemmy, photos, tiny_checkpoint, tmp_path, monkeypatch, capsys
):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from modbot.feeds import public_key_text

    lemmy = fake_lemmy
    cast = lemmy.cast
    key = Ed25519PrivateKey.generate()
    bad = lemmy.add_post(
        cast.pics, cast.bob, name="bad", url=remote_photo(lemmy, photos, "coffee", "c.jpg")
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        CLASSIFIER.format(
            checkpoint=tiny_checkpoint,
            remote=lemmy.remote_url.split("//", 1)[1],
            key=public_key_text(key),
            use=use,
        )
        + (KNOWN_BAD if use == "known-bad" else "")
    )
    state = tmp_path / "state.sqlite3"
    keep_feed(state, key, hashlib.sha256(photos["coffee"]).hexdigest())
    bot_environment(monkeypatch, lemmy, state, rules)

    assert main(["run", "--dry-run", "--once"]) == 0
    from modbot.store import Store

    store = Store(state)
    (run,) = [r for r in store.decisions() if r["item"]["id"] == bad.id]
    store.close()
    want = "known bad" if use == "known-bad" else "peer says csam"
    assert run["rule"] == want  # the run: by the feed's kept copy
    assert main(["report", "--since", "1d", "--out", str(tmp_path / "r.json")]) == 0
    capsys.readouterr()
    doc = json.loads((tmp_path / "r.json").read_text())
    (hit,) = [d for d in doc["decisions"] if d["item"] == {**d["item"], "id": bad.id}]
    recorded = hit["redecided_from"]
    assert hit.get("not_redecided") is None, hit["not_redecided"]
    assert hit["rule"] == want, (hit["rule"], recorded)
    assert [(a["action"], a["status"]) for a in hit["actions"]] == [("remove", "planned")]
    assert hit["model"] == run["model"]  # "feed peer" where the peer's verdict was taken
    if use == "known-bad":
        # the peer's list is not the admin's to edit: its publisher is named, and the
        # allow-list line that spares the file here is given
        advice = hit["what_next"]
        assert "remove this image's entry" not in advice, advice
        assert "the subscribed feed 'peer' (peer.example) lists it" in advice, advice
        assert "known-good" in advice
    assert lemmy.mutating_requests() == []
