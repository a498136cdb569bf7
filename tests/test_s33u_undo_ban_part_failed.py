"""`ban: {uploader: true}` is two bans, the post's author's and the image's uploader's:
when one failed and the other was done, the decision's `ban` is recorded `failed` as a
whole. `modbot undo` lifts the ban that was placed (before, it said "nothing to undo"
and the uploader stayed banned). Through `modbot.cli.main`, against the fake Lemmy."""

from __future__ import annotations

import json

import pytest
from support.acting import Scenario

from modbot.cli import main

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      ban: {scope: site, duration: permanent, remove_data: false, uploader: true,
            reason: "known abusive"}
"""


@pytest.mark.slow
def test_undo_lifts_the_uploaders_ban_beside_the_authors_that_failed(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name, value in s.env.items():
        if name.startswith(("LEMMY_", "MODBOT_", "PICTRS_")):
            monkeypatch.setenv(name, value)
    poster, uploader = fake_lemmy.add_person("poster"), fake_lemmy.add_person("uploader")
    upload = fake_lemmy.add_upload(uploader, s._image(0))
    assert main(["run", "--once"]) == 0  # the bot reads the upload's uploader
    s.list_bad(1)  # listed after: the post is decided, the upload was already
    post = fake_lemmy.add_post(fake_lemmy.cast.pics, poster, name="look", url=upload.url)
    # Lemmy refuses the author's ban (a database error); the uploader's goes
    ban = fake_lemmy.api_path("/api/v3/user/ban")
    fake_lemmy.fail_next(ban, times=1, status=400, error="couldnt_update_user")
    main(["run", "--once"])
    assert not fake_lemmy.person(poster.id).banned
    assert fake_lemmy.person(uploader.id).banned
    capsys.readouterr()
    assert main(["audit", "--json", "--item", f"post:{post.id}"]) == 0
    (decision,) = json.loads(capsys.readouterr().out)["records"]
    (recorded,) = [a for a in decision["actions"] if a["action"] == "ban"]
    assert recorded["status"] == "failed", recorded

    code = main(["undo", str(decision["id"]), "--yes"])
    out = "".join(capsys.readouterr())
    assert code == 0, out
    assert not fake_lemmy.person(uploader.id).banned, out
    assert "lift the ban of person" in out, out
