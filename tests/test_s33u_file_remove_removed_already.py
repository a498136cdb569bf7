"""A stored file's removal (`type: file`, `modbot sweep --store`) goes to each post the
bot saw showing it, maybe days before: one a moderator removed since is left as it is,
not removed again in the bot's name (Lemmy writes a modlog line for a second removal
too, so `modbot undo` took the removal for the bot's and restored the post the moderator
had removed). Through `modbot.cli.main`, against the fake Lemmy 0.19 and 1.0."""

from __future__ import annotations

import json

import pytest
from support.acting import Scenario
from test_h24_undo_moderator_acted import as_person, sent

from modbot.cli import main

RULES = """
  - name: known abusive file
    if: {type: file, hash_list: known-bad}
    then:
      remove: "known abusive file"
"""

pytestmark = [pytest.mark.both_lemmys, pytest.mark.slow]


def test_a_post_a_moderator_removed_since_is_not_removed_again_nor_restored(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name, value in s.env.items():
        if name.startswith(("LEMMY_", "MODBOT_", "PICTRS_")):
            monkeypatch.setenv(name, value)
    s.list_bad(1)
    spammer = fake_lemmy.add_person("spammer")
    upload = fake_lemmy.add_upload(spammer, s._image(0))
    first, second = (
        fake_lemmy.add_post(fake_lemmy.cast.pics, spammer, name=f"repost {i}", url=upload.url)
        for i in range(2)
    )
    assert main(["run", "--once"]) == 0  # the bot sees the posts (the rule is the file's)
    as_person(fake_lemmy, "mod").remove_post(first.id, "spam, removed by a moderator")
    fake_lemmy.clear_requests()

    assert main(["sweep", "--store", "--files-per-second", "0"]) == 0
    assert fake_lemmy.post(second.id).removed
    removals = sent(fake_lemmy, "/api/v3/post/remove", "removed", True)
    assert [r.json["post_id"] for r in removals] == [second.id]
    capsys.readouterr()
    assert main(["audit", "--json", "--rule", "known abusive file"]) == 0
    (decision,) = json.loads(capsys.readouterr().out)["records"]
    (remove,) = [a for a in decision["actions"] if a["action"] == "remove"]
    assert f"post {first.id}: removed already" in remove["detail"], remove

    code = main(["undo", str(decision["id"]), "--yes"])
    out = "".join(capsys.readouterr())
    assert code == 0, out
    assert fake_lemmy.post(first.id).removed, out
    assert not fake_lemmy.post(second.id).removed, out
