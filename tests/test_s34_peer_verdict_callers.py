"""The callers of `peer_verdict` say their side (32d063d: only the rules of the side a
file is decided on count). With the gate refusing a peer's `csam` and the posts' rules
acting on `nsfw` alone, a post showing the file the peer confirmed csam was left
unclassified (the peer's verdict stood, and no rule of a post names csam): the nsfw rule
never met it. The post's image is classified now."""

from __future__ import annotations

from pathlib import Path

from test_hash_feeds import CLASSIFIER, by_post, look
from test_s28_peer_verdicts import publish, subscribe, two  # noqa: F401 (a fixture)


def test_a_label_only_the_gate_names_leaves_a_posts_image_to_the_classifier(
    two,  # noqa: F811
    photos,
    tiny_checkpoint,
    tmp_path,
    monkeypatch,
) -> None:
    a, b = two
    feeds = publish(
        a, photos, tmp_path, tiny_checkpoint, monkeypatch, [["--bad", "--label", "csam"]]
    )
    rules = subscribe(b, tmp_path, tiny_checkpoint, feeds)
    text = rules.read_text()
    head = text[: text.index("rules:\n")]
    assert CLASSIFIER.splitlines()[0] in head
    rules.write_text(
        head
        + """rules:
  - name: peer says csam at the gate
    if: {type: incoming, labels: csam}
    then: {reject: true}
  - name: nsfw in posts
    if: {labels: nsfw}
    then: {remove: "nsfw"}
"""
    )
    post = b.add_post(
        b.cast.pics, b.cast.bob, name="same", url=b.add_remote_file("c.jpg", photos["coffee"])
    )
    records, calls, _ = look(b, Path(rules), tmp_path / "b.sqlite3")
    assert calls == 1  # before: 0, the peer's csam stood for the classifier's verdict
    assert not by_post(records)[post.id]["model"].startswith("feed ")
