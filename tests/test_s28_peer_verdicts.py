"""A `use: classified` feed never makes the bot do less than it would without it. The
peers' verdict stands for the classifier's only when the rules can act on it: a `bad`
entry whose label no rule names (`modbot confirm --bad` labels `abuse` by default, a
label no rule can name) left the file unclassified and unacted on; and when the
classified feeds agree: with one peer's `bad` and another's `innocent`, the first feed
in rules.yaml won, so its order decided whether the file was removed. The classifier
decides both now."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_hash_feeds import CLASSIFIER, by_post, look

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.cli import main


@pytest.fixture
def two() -> Iterator[tuple[FakeLemmy, FakeLemmy]]:
    with FakeLemmy() as a, FakeLemmy() as b:
        a.cast, b.cast = standard_cast(a), standard_cast(b)
        yield a, b


def publish(a: FakeLemmy, photos, tmp_path: Path, checkpoint: Path, monkeypatch, verdicts):
    """A sees coffee.jpg; for each of ``verdicts`` (argv of `modbot confirm` after the
    file's hash) its admin confirms it so and publishes a feed with a key of its own:
    [(public key, feed file)]."""
    cast = a.cast
    a.add_post(
        cast.pics, cast.bob, name="coffee", url=a.add_remote_file("coffee.jpg", photos["coffee"])
    )
    remote = a.remote_url.split("//", 1)[1]
    rules = tmp_path / "a-rules.yaml"
    rules.write_text(CLASSIFIER.format(checkpoint=checkpoint, remote=remote))
    state = tmp_path / "a.sqlite3"
    look(a, rules, state)
    monkeypatch.setenv("MODBOT_STATE", str(state))
    coffee = hashlib.sha256(photos["coffee"]).hexdigest()
    feeds = []
    for n, args in enumerate(verdicts):
        assert main(["confirm", coffee, *args]) == 0
        key = tmp_path / f"a{n}.key"
        assert main(["keys", "--out", str(key)]) == 0
        out = tmp_path / f"site{n}" / "hashes.json"
        out.parent.mkdir()
        publish_args = ["--key", str(key), "--out", str(out), "--instance", "a.example"]
        assert main(["feed", "publish", *publish_args]) == 0
        feeds.append(((tmp_path / f"a{n}.key.pub").read_text().strip(), out))
    return feeds


def subscribe(b: FakeLemmy, tmp_path: Path, checkpoint: Path, feeds) -> Path:
    remote = b.remote_url.split("//", 1)[1]
    lines = []
    for n, (key, feed) in enumerate(feeds):
        b.add_remote_file(f"f{n}/hashes.json", feed.read_bytes(), content_type="application/json")
        sig = Path(f"{feed}.sig").read_bytes()
        b.add_remote_file(f"f{n}/hashes.json.sig", sig, content_type="text/plain")
        url = f"{b.remote_url}/f{n}/hashes.json"
        lines.append(
            f'  peer{n}: {{url: "{url}", key: "{key}", use: classified, instance: a.example}}'
        )
    path = tmp_path / "b-rules.yaml"
    path.write_text(
        CLASSIFIER.format(checkpoint=checkpoint, remote=remote)
        + "feeds:\n"
        + "\n".join(lines)
        + """
rules:
  - name: peer says csam
    if: {labels: csam}
    then: {remove: "known abusive image"}
"""
    )
    return path


def test_a_peers_bad_verdict_with_a_label_no_rule_names_leaves_the_classifier_to_decide(
    two, photos, tiny_checkpoint, tmp_path, monkeypatch
) -> None:
    a, b = two
    feeds = publish(a, photos, tmp_path, tiny_checkpoint, monkeypatch, [["--bad"]])  # "abuse"
    rules = subscribe(b, tmp_path, tiny_checkpoint, feeds)
    post = b.add_post(
        b.cast.pics, b.cast.bob, name="same", url=b.add_remote_file("c.jpg", photos["coffee"])
    )
    records, calls, warnings = look(b, rules, tmp_path / "b.sqlite3")
    assert warnings == []
    assert calls == 1  # before: 0, the peer's `abuse` stood for the classifier's verdict
    assert by_post(records)[post.id]["model"] != "feed peer0"


@pytest.mark.parametrize("order", [[0, 1], [1, 0]], ids=["bad-first", "innocent-first"])
def test_peers_that_disagree_leave_the_classifier_to_decide_whatever_their_order(
    order, two, photos, tiny_checkpoint, tmp_path, monkeypatch
) -> None:
    a, b = two
    verdicts = [["--bad", "--label", "csam"], ["--innocent"]]
    feeds = publish(a, photos, tmp_path, tiny_checkpoint, monkeypatch, verdicts)
    rules = subscribe(b, tmp_path, tiny_checkpoint, [feeds[i] for i in order])
    post = b.add_post(
        b.cast.pics, b.cast.bob, name="same", url=b.add_remote_file("c.jpg", photos["coffee"])
    )
    records, calls, _ = look(b, rules, tmp_path / "b.sqlite3")
    # before: the first feed's verdict (removed when the `bad` one came first, not when
    # the `innocent` one did)
    assert calls == 1
    assert not by_post(records)[post.id]["model"].startswith("feed ")


def test_peers_that_agree_still_stand_for_the_classifier(
    two, photos, tiny_checkpoint, tmp_path, monkeypatch
) -> None:
    a, b = two
    verdicts = [["--bad", "--label", "csam"], ["--bad", "--label", "csam"]]
    feeds = publish(a, photos, tmp_path, tiny_checkpoint, monkeypatch, verdicts)
    rules = subscribe(b, tmp_path, tiny_checkpoint, feeds)
    post = b.add_post(
        b.cast.pics, b.cast.bob, name="same", url=b.add_remote_file("c.jpg", photos["coffee"])
    )
    records, calls, _ = look(b, rules, tmp_path / "b.sqlite3")
    assert calls == 0
    hit = by_post(records)[post.id]
    assert hit["model"] == "feed peer0" and hit["labels"] == ["csam"]
    assert hit["rule"] == "peer says csam"
