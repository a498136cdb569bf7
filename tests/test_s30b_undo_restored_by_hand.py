"""`modbot undo --yes --no-modlog-check` of a removal a moderator already reverted by
hand (lemmy-ui): the post is not restored again. Before, without the modlog nothing
read whether the post was still removed: a needless restore was sent (a second
"restored" line by the bot in Lemmy's modlog) and recorded as the undo's own, and the
preview said "would restore post N". Now Lemmy's post is read first: "already restored
by hand", nothing sent. Through `modbot.cli.main` against the fake Lemmy 0.19 and 1.0."""

from __future__ import annotations

import json

import pytest
from support.acting import Scenario

from fakelemmy.scenarios import PASSWORD
from modbot.cli import main
from modbot.config.settings import Settings
from modbot.lemmy import connect

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad, type: post}
    then:
      remove: "known abusive image"
"""

pytestmark = pytest.mark.both_lemmys


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def restores_by_the_bot(lemmy) -> list:
    path = lemmy.api_path("/api/v3/post/remove")
    return [
        r
        for r in lemmy.requests
        if r.path == path and r.user == "modbot" and (r.json or {}).get("removed") is False
    ]


@pytest.mark.parametrize("modlog", [True, False], ids=["modlog", "no-modlog-check"])
def test_a_post_a_moderator_restored_by_hand_is_not_restored_again(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys, modlog
):
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    monkeypatch.setenv("MODBOT_RULES", s.env["MODBOT_RULES"])
    (post,) = s.add_bad_posts(1)
    assert main(["run", "--once"]) == 0
    assert s.lemmy.post(post.id).removed
    capsys.readouterr()
    code, out = run(capsys, "audit", "--json", "--item", f"post:{post.id}")
    (record,) = json.loads(out)["records"]
    env = {"LEMMY_URL": s.lemmy.url, "LEMMY_USERNAME": "mod", "LEMMY_PASSWORD": PASSWORD}
    mod = connect(
        Settings.from_env(env),
        requests_per_minute=60_000,
        timeout=10,
        read_only=False,
        api_version=s.lemmy.api_version,
    )
    mod.restore_post(post.id, "not abusive")
    flags = [] if modlog else ["--no-modlog-check"]

    s.lemmy.clear_requests()
    code, out = run(capsys, "undo", str(record["id"]), *flags)
    assert code == 0, out
    assert f"would restore post {post.id}" not in out and "restored" in out, out
    assert s.lemmy.mutating_requests() == [], out

    code, out = run(capsys, "undo", str(record["id"]), "--yes", *flags)
    assert code == 0 and "FAILED" not in out, out
    assert restores_by_the_bot(s.lemmy) == [], "no needless restore"
    assert "restored" in out and "already" in out, out
    assert not s.lemmy.post(post.id).removed
