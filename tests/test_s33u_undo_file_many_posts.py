"""Undoing a stored file's removal (`type: file`: `modbot sweep --store` removed each
post showing it) restores every post that decision removed, however many: the
decision's record keeps a detail of at most 1,000 characters, which names some 50 of
them. Through `modbot.cli.main`, against the fake Lemmy."""

from __future__ import annotations

import json

import pytest
from support.acting import Scenario

from modbot.cli import main

RULES = """
  - name: known abusive file
    if: {type: file, hash_list: known-bad}
    then:
      remove: "known abusive file"
"""

POSTS = 70


@pytest.mark.slow
def test_undo_of_a_files_removal_restores_every_post_it_removed(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name, value in s.env.items():
        if name.startswith(("LEMMY_", "MODBOT_", "PICTRS_")):
            monkeypatch.setenv(name, value)
    # the scenario's bot sends 60,000 requests a minute (the default is 120): Lemmy's
    # per-IP limit is not what this test is about
    fake_lemmy.rate_limiter.limits["message"] = None
    s.list_bad(1)
    spammer = fake_lemmy.add_person("spammer")
    upload = fake_lemmy.add_upload(spammer, s._image(0))
    posts = [
        fake_lemmy.add_post(fake_lemmy.cast.pics, spammer, name=f"repost {i}", url=upload.url)
        for i in range(POSTS)
    ]
    assert main(["run", "--once"]) == 0  # the bot sees the posts (the rule is the file's)
    assert not any(fake_lemmy.post(p.id).removed for p in posts)
    assert main(["sweep", "--store", "--files-per-second", "0"]) == 0
    assert all(fake_lemmy.post(p.id).removed for p in posts)
    capsys.readouterr()
    assert main(["audit", "--json", "--rule", "known abusive file"]) == 0
    (decision,) = [r for r in json.loads(capsys.readouterr().out)["records"]]

    code = main(["undo", str(decision["id"]), "--yes"])
    out = "".join(capsys.readouterr())
    assert code == 0, out
    still = [p.id for p in posts if fake_lemmy.post(p.id).removed]
    assert still == [], f"{len(still)} of {POSTS} posts left removed: {still[:5]}...\n{out}"
