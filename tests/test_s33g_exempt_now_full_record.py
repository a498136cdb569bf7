"""An item recorded showing a file spares it when the rules of now exempt it
(`Pipeline._exempt_now`). It was decided on part of its record: without the author's
account age, bot flag and whether the item was local (nor an author recorded as an
admin then). A moderator's post matching a removal rule on new accounts (`author:
{account_age: "< 30d"}`), moderators exempt, then spared nothing: a new account's
repost of the same file purged it, and with it the image of the post the rules keep
up; `modbot report` from the record, deciding the whole record as of its time, said
the file was spared. Both now build the subject alike (`recorded_subject`), decided as
of the record's time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from modbot.config.policy import load_policy
from modbot.model import ImageRef, ItemImage, utc_iso
from modbot.pipeline import ShownExempt
from modbot.store import Store

SHA = "ab" * 32
ALIAS = "0a1b2c3d.png"


def test_a_moderators_post_matching_a_rule_on_new_accounts_spares_its_file(
    tmp_path, tiny_checkpoint
):
    (tmp_path / "known-bad.txt").write_text(f"{SHA}\n")
    (tmp_path / "rules.yaml").write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {tiny_checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
hash_lists:
  known-bad: {{kind: sha256, file: known-bad.txt}}
exempt: {{moderators: true}}
rules:
  - name: known abusive image from a new account
    if: {{hash_list: known-bad, author: {{account_age: "< 30d"}}}}
    then: {{remove: "Known abusive image", purge_image: true}}
""")
    policy = load_policy(tmp_path / "rules.yaml")
    store = Store(tmp_path / "state.sqlite3")
    decided = datetime.now(UTC) - timedelta(days=40)
    store.add_decision(
        {
            "run_id": "r",
            "decided_at": utc_iso(decided),
            "item": {
                "kind": "post",
                "id": 1,
                "author_id": 7,
                "author": "https://lemmy.example/u/carol",
                "author_local": True,
                # ten days old when decided (fifty now): the rule held for her then
                "author_published": utc_iso(decided - timedelta(days=10)),
                "author_is_moderator": True,
                "community": "pics@lemmy.example",
                "community_local": True,
            },
            "image": {"sha256": SHA, "alias": ALIAS, "location": "post_url"},
        }
    )
    ref = ImageRef(f"https://lemmy.example/pictrs/image/{ALIAS}", "post_url", alias=ALIAS)
    img = ItemImage(ref, sha256=SHA, verdict={"labels": [], "scores": {}}, hashes={})
    try:
        why = ShownExempt(store).first(policy, set(), "post:2", img)
    finally:
        store.close()
    assert why == "the same file is shown by post 1, exempt: the author moderates this community"
