"""`modbot audit`'s table shows, for each decision, the image's hash and what matched
(each label with its score, each hash list with how it matched), beside the rule and
the actions' outcomes: what an admin needs to judge a decision without --json.
Through `modbot.cli.main` after a real `run --once` against the fake Lemmy."""

from __future__ import annotations

import json

from support.acting import Scenario, sha

from modbot.cli import main
from modbot.store import Store

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then: {remove: "known abusive image"}
"""


def test_the_table_shows_the_image_hash_and_what_matched(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    for name in ("MODBOT_RULES", "PICTRS_URL", "PICTRS_API_KEY"):
        monkeypatch.setenv(name, s.env[name])
    (post,) = s.add_bad_posts(1)
    assert main(["run", "--once"]) == 0
    capsys.readouterr()

    assert main(["audit"]) == 0
    header, line, *_ = capsys.readouterr().out.splitlines()  # the post, then its upload
    assert header.split()[-3:] == ["IMAGE", "WHY", "ACTIONS"], header
    digest = sha(s._image(0))
    assert f"post:{post.id}" in line and digest[:12] in line, line
    assert "known-bad: sha256" in line and "remove:done" in line, line

    # a classifier's label with its score, as the record holds them
    store = Store(s.state)
    record = store.decisions()[0]
    store.add_decision(
        {**record, "labels": ["nsfw"], "scores": {"nsfw": 0.0213, "csam": -0.5}, "hash_match": None}
    )
    store.close()
    assert main(["audit", "--limit", "1"]) == 0
    line = capsys.readouterr().out.splitlines()[1]
    assert "nsfw +0.0213" in line and "csam" not in line, line
    assert main(["audit", "--json", "--limit", "1"]) == 0
    (shown,) = json.loads(capsys.readouterr().out)["records"]
    assert shown["image"]["sha256"] == digest and shown["scores"]["nsfw"] == 0.0213
