"""A bot that moderates communities without being an admin: `modbot undo` reads who
acted last from Lemmy's modlog naming the post's community, which Lemmy 1.0 requires to
show a community moderator who acted (to anyone but an admin it hides the names of a
read that names no community). So the bot's own removal is found and undone, not
refused as "the modlog hides who acted"."""

from __future__ import annotations

import json

import pytest
from support.acting import Scenario

from fakelemmy.scenarios import PASSWORD
from modbot.cli import main

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
"""

pytestmark = pytest.mark.both_lemmys


def test_a_moderator_bot_undoes_its_own_removal(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    env = {**s.env, "LEMMY_USERNAME": "mod", "LEMMY_PASSWORD": PASSWORD}
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE", "MODBOT_RULES"):
        monkeypatch.setenv(name, env[name])
    for name in ("PICTRS_URL", "PICTRS_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    (post,) = s.add_bad_posts(1)
    assert main(["run", "--once"]) == 0
    assert fake_lemmy.post(post.id).removed
    capsys.readouterr()
    assert main(["audit", "--json", "--item", f"post:{post.id}"]) == 0
    (record,) = json.loads(capsys.readouterr().out)["records"]
    code = main(["undo", str(record["id"]), "--yes"])
    said = "".join(capsys.readouterr())
    assert code == 0, said
    assert not fake_lemmy.post(post.id).removed, said
