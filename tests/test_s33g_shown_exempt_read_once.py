"""Each repost of a file asks whether a post or comment recorded showing it is exempt under
the rules of now (`Pipeline._exempt_now`). It read and decided every decision ever
recorded of the file at each ask: a wave of N reposts cost N x N (1 s a post at 20,000
records). `ShownExempt` keeps what the rows read held and reads only the rows recorded
since. These check it gives what a whole read gives (`files=0` keeps nothing: the whole
read at every ask), ask after ask: each item decided on its first row showing the file
(a later row of it, its author since made a moderator, does not make it exempt), rows
another process recorded in between, rules and admins changed in between, rows of the
file's alias with other bytes or none, and the number of rows decided."""

from __future__ import annotations

import pytest

from modbot.config.policy import load_policy
from modbot.model import ImageRef, ItemImage
from modbot.pipeline import ShownExempt
from modbot.store import Store

SHA = "ab" * 32
OTHER = "cd" * 32
ALIAS = "0a1b2c3d.png"


def rules(tmp_path, checkpoint, exempt: str = "") -> object:
    (tmp_path / "known-bad.txt").write_text(f"{SHA}\n")
    path = tmp_path / "rules.yaml"
    path.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
hash_lists:
  known-bad: {{kind: sha256, file: known-bad.txt}}
exempt: {{moderators: true{exempt}}}
rules:
  - name: known abusive image
    if: {{hash_list: known-bad}}
    then: {{remove: "Known abusive image", purge_image: true}}
""")
    return load_policy(path)


def record(store, kind, item_id, *, author="bob", moderator=False, sha=SHA, alias=ALIAS):
    store.add_decision(
        {
            "run_id": "r",
            "decided_at": "2026-12-01T00:00:00Z",
            "item": {
                "kind": kind,
                "id": item_id,
                "author_id": hash(author) % 1000 + 10,
                "author": f"https://lemmy.example/u/{author}",
                "author_local": True,
                "author_is_moderator": moderator,
                "community": "pics@lemmy.example",
                "community_local": True,
            },
            "image": {"sha256": sha, "alias": alias, "location": "post_url"},
        }
    )


def image(sha=SHA, alias=ALIAS) -> ItemImage:
    ref = ImageRef(f"https://lemmy.example/pictrs/image/{alias}", "post_url", alias=alias)
    return ItemImage(ref, sha256=sha, verdict={"labels": [], "scores": {}}, hashes={})


@pytest.fixture
def store(tmp_path):
    opened = Store(tmp_path / "state.sqlite3")
    yield opened
    opened.close()


def both(store, policy, key, img=None, admins=()):
    """What the kept reads answer, and what a whole read answers."""
    kept = store.kept.first(policy, set(admins), key, img or image())
    whole = ShownExempt(store, files=0).first(policy, set(admins), key, img or image())
    return kept, whole


def test_each_ask_answers_as_a_whole_read(store, tmp_path, tiny_checkpoint):
    policy = rules(tmp_path, tiny_checkpoint, ", users: [carol]")
    store.kept = ShownExempt(store)
    record(store, "post", 1)
    assert both(store, policy, "post:9") == (None, None)
    # bob's post 2 was first recorded plain; later his record says he moderates now:
    # decided on its first row, as before, it spares nothing
    record(store, "post", 2)
    assert both(store, policy, "post:9") == (None, None)
    record(store, "post", 2, moderator=True)
    assert both(store, policy, "post:9") == (None, None)
    # another process records carol's comment (exempt.users) between two asks
    other = Store(store.path)
    record(other, "comment", 3, author="carol")
    other.close()
    kept, whole = both(store, policy, "post:9")
    assert (
        kept
        == whole
        == ("the same file is shown by comment 3, exempt: the author is in exempt.users (carol)")
    )
    # the exempt item itself is not its own reason; a later exempt one is
    assert both(store, policy, "comment:3") == (None, None)
    record(store, "post", 4, author="carol")
    kept, whole = both(store, policy, "comment:3")
    assert kept == whole and kept is not None and "post 4" in kept


def test_rules_and_admins_changed_between_asks(store, tmp_path, tiny_checkpoint):
    store.kept = ShownExempt(store)
    record(store, "post", 1, author="carol")
    before = rules(tmp_path, tiny_checkpoint)
    assert both(store, before, "post:9") == (None, None)
    after = rules(tmp_path, tiny_checkpoint, ", users: [carol]")
    kept, whole = both(store, after, "post:9")
    assert kept == whole and kept is not None and "post 1" in kept
    assert both(store, before, "post:9") == (None, None)  # the old rules again
    carol = hash("carol") % 1000 + 10
    kept, whole = both(store, before, "post:9", admins=[carol])
    assert kept == whole and kept is not None and "admin" in kept


def test_a_row_of_the_alias_with_other_bytes_decides_its_item_when_first(
    store, tmp_path, tiny_checkpoint
):
    policy = rules(tmp_path, tiny_checkpoint)
    store.kept = ShownExempt(store)
    # post 1 first showed the alias with no bytes read (its moderator author then), and
    # later the bytes: decided on the first, it is exempt
    record(store, "post", 1, moderator=True, sha=None)
    record(store, "post", 1)
    record(store, "post", 2)
    kept, whole = both(store, policy, "post:9")
    assert kept == whole and kept is not None and "post 1" in kept
    # post 3's first row is by bytes, plain; its alias row with other bytes comes later
    record(store, "post", 3)
    record(store, "post", 3, moderator=True, sha=OTHER)
    assert both(store, policy, "post:1") == (None, None)
    # another alias of the same bytes (a re-upload) shares what was read of them
    kept, whole = both(store, policy, "post:9", image(alias="ffff.png"))
    assert kept == whole is None


def test_each_row_is_decided_once(store, tmp_path, tiny_checkpoint, monkeypatch):
    policy = rules(tmp_path, tiny_checkpoint)
    kept, whole = ShownExempt(store), ShownExempt(store, files=0)
    counted = {"kept": 0, "whole": 0}
    decide = type(policy).decide

    def asks(which):
        def counting(self, subject, now=None):
            counted[which] += 1
            return decide(self, subject, now)

        return counting

    for post in range(1, 41):  # a wave: each repost asks, then is recorded
        monkeypatch.setattr(type(policy), "decide", asks("kept"))
        assert kept.first(policy, set(), f"post:{post}", image()) is None
        monkeypatch.setattr(type(policy), "decide", asks("whole"))
        assert whole.first(policy, set(), f"post:{post}", image()) is None
        record(store, "post", post)
    assert counted == {"kept": 39, "whole": 39 * 40 // 2}


def test_what_is_kept_is_bounded(store, tmp_path, tiny_checkpoint):
    policy = rules(tmp_path, tiny_checkpoint)
    kept = ShownExempt(store, files=2, items=5)
    for post in range(1, 5):
        record(store, "post", post, sha=f"{post:064x}", alias=f"{post}.png")
    for post in range(1, 5):
        kept.first(policy, set(), "post:9", image(f"{post:064x}", f"{post}.png"))
        assert len(kept._reads) <= 2 and kept._held <= 5
    for post in range(10, 20):
        record(store, "post", post)
    kept.first(policy, set(), "post:9", image())
    assert kept._held <= 5 and ("sha256", SHA) not in kept._reads  # too big to keep
