"""Undoing a stored file's removal (`type: file`, `modbot sweep --store`) that failed on
one post showing the file and was done on the others: the decision's `remove` is
recorded `failed` as a whole, yet it removed those posts; `modbot undo` restores them
(before, it found nothing to undo and said nothing). Through `modbot.cli.main`, against
the fake Lemmy."""

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


@pytest.mark.slow
def test_undo_restores_the_posts_a_partly_failed_file_removal_removed(
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
    posts = [
        fake_lemmy.add_post(fake_lemmy.cast.pics, spammer, name=f"repost {i}", url=upload.url)
        for i in range(3)
    ]
    assert main(["run", "--once"]) == 0  # the bot sees the posts (the rule is the file's)
    # Lemmy refuses the first removal (a database error): the others go
    fake_lemmy.fail_next("/api/v3/post/remove", times=1, status=400, error="couldnt_update_post")
    main(["sweep", "--store", "--files-per-second", "0"])
    removed = [p.id for p in posts if fake_lemmy.post(p.id).removed]
    assert len(removed) == 2, removed
    capsys.readouterr()
    assert main(["audit", "--json", "--rule", "known abusive file"]) == 0
    (decision,) = json.loads(capsys.readouterr().out)["records"]
    (remove,) = [a for a in decision["actions"] if a["action"] == "remove"]
    assert remove["status"] == "failed", remove

    code = main(["undo", str(decision["id"]), "--yes"])
    out = "".join(capsys.readouterr())
    assert code == 0, out
    assert not any(fake_lemmy.post(p).removed for p in removed), out
    for number in removed:
        assert f"restore post {number}" in out, out
