"""`modbot report` (from the record) after one daemon run that looked at a post twice:
its author edited an image out between the polls. The report decided the dropped image
as the post's (the run that looked at the post last recorded it too)."""

from __future__ import annotations

import json

import pytest
from support.bot import remote_photo, sha
from support.cli import bot_environment
from support.policies import write_rules

from modbot.cli import main
from modbot.config.policy import load_policy
from modbot.config.settings import Settings
from modbot.modes.daemon import Daemon
from modbot.pipeline import Pipeline

RULES = """
  - name: known abusive image
    priority: 100
    if: {hash_list: known-bad}
    then: {remove: "known abusive image"}
"""


@pytest.mark.slow
def test_an_image_edited_out_between_two_polls_of_one_run(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    kept = remote_photo(lemmy, photos, "chelsea", "kept.jpg")
    dropped = remote_photo(lemmy, photos, "coffee", "dropped.jpg")
    post = lemmy.add_post(cast.pics, cast.bob, name="two", body=f"![a]({kept})\n\n![b]({dropped})")
    rules = write_rules(tmp_path, lemmy, tiny, rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules)
    policy = load_policy(rules)
    with Pipeline(Settings.from_env(), policy, dry_run=True) as pipeline:
        daemon = Daemon(pipeline, policy)
        daemon.cycle()
        lemmy.edit_post(post.id, body=f"![a]({kept})")
        daemon.cycle()  # the same run's next poll: one image

    write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos["coffee"])], rules=RULES)
    assert main(["report", "--since", "1d", "--out", "r.json"]) == 0
    capsys.readouterr()
    doc = json.loads((tmp_path / "r.json").read_text())
    of_post = [d for d in doc["decisions"] if d["item"]["kind"] == "post"]
    assert [d["image"]["url"] for d in of_post] == [kept]
    assert doc["summary"]["by_rule"] == {}
    assert doc["summary"]["no_longer_shown"] == 1
