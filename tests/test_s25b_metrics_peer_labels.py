"""`modbot_verdicts_total`'s `label` holds only the policy's labels (the built-in ones
and its concepts), as docs/metrics.md lists them: a `use: classified` feed's label is the
peer's own word (any of its 1-40 characters: "case-20261204"), and one series each would
let a peer grow the daemon's metrics without bound. The verdicts a peer's label gave are
counted under `label="_other"`; a peer label the policy has (`csam`) under its name."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support.bot import Bot
from support.policies import write_rules
from test_metrics import scrape, start_daemon, stop

from modbot.feeds import FeedEntry, make_feed, public_key_text, sign_feed

KEY = Ed25519PrivateKey.generate()


def test_a_peers_labels_do_not_each_become_a_series(fake_lemmy, photos, tiny, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    names = sorted(photos)[:3]  # three files the peer classified, each its own label
    labels = {names[0]: "case-20261204-1", names[1]: "case-20261204-2", names[2]: "csam"}
    entries = [
        FeedEntry("sha256", hashlib.sha256(photos[n]).hexdigest(), "bad", labels[n], date.today())
        for n in names
    ]
    # a second peer agrees each file is bad, as `csam`: a peer's verdict is taken only
    # when a rule names one of its labels (and the classified feeds agree), so each file
    # gets its first peer's own word and `csam`
    agreeing = [FeedEntry("sha256", e.hash, "bad", "csam", date.today()) for e in entries]
    feeds = ""
    for name, listed in (("peer", entries), ("peer2", agreeing)):
        feed = make_feed("peer.example", listed, generated_at=datetime.now(UTC))
        body, sig = sign_feed(feed, KEY)
        url = lemmy.add_remote_file(f"{name}/hashes.json", body, content_type="application/json")
        lemmy.add_remote_file(f"{name}/hashes.json.sig", sig, content_type="text/plain")
        feeds += (
            f'  {name}: {{url: "{url}", key: "{public_key_text(KEY)}", use: classified,'
            " instance: peer.example}\n"
        )
    rules = write_rules(
        tmp_path,
        lemmy,
        tiny,
        rules="\n  - name: peer csam\n    if: {labels: csam}\n    then: {report: csam}",
    )
    rules.write_text(rules.read_text() + "feeds:\n" + feeds)
    bot = Bot(lemmy, tmp_path, rules)
    bot("run", "--once")  # the feed fetched and kept: the daemon's first cycle uses it
    for n in names:
        lemmy.add_post(
            cast.pics, cast.bob, name=n, url=lemmy.add_remote_file(f"{n}.jpg", photos[n])
        )
    daemon, err, url = start_daemon(bot, "--metrics-port", "0")
    try:
        samples, _ = scrape(url)
    finally:
        stop(daemon, err)

    # the peer's verdicts were taken, its labels kept in the record (`modbot audit`)
    recorded = sorted(label for r in bot.decisions() for label in r["labels"])
    assert recorded == ["case-20261204-1", "case-20261204-2", "csam", "csam", "csam"]
    fired = {
        dict(labelled)["label"]: v
        for (name, labelled), v in samples.items()
        if name == "modbot_verdicts_total"
    }
    assert fired.get("csam") == 3
    assert fired.get("_other") == 2
    assert not [label for label in fired if label.startswith("case-")], sorted(fired)
