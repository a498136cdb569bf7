"""`modbot report` (from the record) decides what an item showed at its latest look.
An author who edits every image out of a post leaves a look that finds no image, which
records nothing: the report still decided the dropped image as the post's, and a rule
matching it now planned the post's removal, which a fresh look would not."""

from __future__ import annotations

import json
import time

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
def test_a_post_edited_to_no_image_is_not_decided_on_its_old_image(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    dropped = remote_photo(lemmy, photos, "coffee", "dropped.jpg")
    post = lemmy.add_post(cast.pics, cast.bob, name="one", body=f"look ![b]({dropped})")
    rules = write_rules(tmp_path, lemmy, tiny, rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules)
    assert main(["run", "--dry-run", "--once"]) == 0
    lemmy.edit_post(post.id, body="look, no image now")
    # a look within the second of the decision before it is taken as that one (a
    # record's time is in seconds): the next run's comes after it, as a poll's does
    time.sleep(1.1)
    assert main(["run", "--dry-run", "--once"]) == 0  # a later look: no image at all

    # the dropped file is put on the known-bad list afterwards
    write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos["coffee"])], rules=RULES)
    assert main(["report", "--since", "1d", "--out", "r.json"]) == 0
    capsys.readouterr()
    doc = json.loads((tmp_path / "r.json").read_text())
    of_post = [
        d for d in doc["decisions"] if d["item"]["kind"] == "post" and d["item"]["id"] == post.id
    ]
    assert of_post == []
    assert doc["summary"]["by_rule"] == {}
    assert doc["summary"]["no_longer_shown"] == 1
    assert lemmy.mutating_requests() == []
