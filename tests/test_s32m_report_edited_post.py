"""`modbot report` (from the record) decides what the item showed at its latest look:
an image its author edited out of a post, looked at again by a later run, is no longer
the post's. It was decided again from its old record, and a rule matching it now
planned the post's removal, which a fresh look would not."""

from __future__ import annotations

import json

import pytest
from support.bot import remote_photo, sha
from support.cli import bot_environment
from support.policies import write_rules

from modbot.cli import main

RULES = """
  - name: known abusive image
    priority: 100
    if: {hash_list: known-bad}
    then: {remove: "known abusive image"}
"""


@pytest.mark.slow
def test_an_image_edited_out_of_a_post_is_not_decided_again_as_the_posts(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    kept = remote_photo(lemmy, photos, "chelsea", "kept.jpg")
    dropped = remote_photo(lemmy, photos, "coffee", "dropped.jpg")
    post = lemmy.add_post(cast.pics, cast.bob, name="two", body=f"![a]({kept})\n\n![b]({dropped})")
    rules = write_rules(tmp_path, lemmy, tiny, rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules)
    assert main(["run", "--dry-run", "--once"]) == 0
    lemmy.edit_post(post.id, body=f"![a]({kept})")  # the second image edited out
    assert main(["run", "--dry-run", "--once"]) == 0  # a later run's look: one image

    # The dropped file is put on the known-bad list afterwards.
    write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos["coffee"])], rules=RULES)
    assert main(["report", "--since", "1d", "--out", "r.json"]) == 0
    capsys.readouterr()
    doc = json.loads((tmp_path / "r.json").read_text())
    of_post = [d for d in doc["decisions"] if d["item"] == {**d["item"], "id": post.id}]
    assert [d["image"]["url"] for d in of_post] == [kept]
    assert all(not d["actions"] for d in of_post), of_post
    assert doc["summary"]["by_rule"] == {}
    assert doc["summary"]["no_longer_shown"] == 1
    assert "no longer found them" in doc["summary"]["source"]
