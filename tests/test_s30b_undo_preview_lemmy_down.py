"""`modbot undo` without --yes (the preview) when Lemmy stops answering part-way (down,
or refusing the bot's login): the
undos after it are listed as the state file says, and the preview says that Lemmy was
not asked for them. Before, it said so only when Lemmy could not be asked at all: the
lines after "but not now: cannot read ..." read like ones Lemmy had been asked about
(its ban, its modlog). Through `modbot.cli.main` against the fake Lemmy."""

from __future__ import annotations

import json

from support.acting import Scenario

from modbot.cli import main

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad, type: post}
    then:
      remove: "known abusive image"
      ban: {scope: site, duration: permanent, remove_data: false, reason: "known abusive"}
"""


def test_the_undos_after_lemmy_stopped_answering_are_said_not_asked(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    monkeypatch.setenv("MODBOT_RULES", s.env["MODBOT_RULES"])
    (post,) = s.add_bad_posts(1)
    assert main(["run", "--once"]) == 0
    capsys.readouterr()
    assert main(["audit", "--json", "--item", f"post:{post.id}"]) == 0
    (record,) = json.loads(capsys.readouterr().out)["records"]
    # Lemmy drops the bot's login and refuses a new one (rate-limited): the first
    # undo's reads fail
    fake_lemmy.clear_requests()
    fake_lemmy.invalidate_tokens("modbot")
    fake_lemmy.fail_next(fake_lemmy.api_path("/api/v3/user/login"), times=30)

    code = main(["undo", str(record["id"])])
    out, err = capsys.readouterr()
    assert code == 1, out + err  # --yes would fail now: the preview says so (s31b)
    lines = out.splitlines()
    first = next(i for i, line in enumerate(lines) if "but not now" in line)
    assert f"restore post {post.id}" in lines[first], out
    assert any("would lift the ban" in line for line in lines[first + 1 :]), out
    assert "Lemmy not asked" in err and "the rest" in err, err
    assert fake_lemmy.mutating_requests() == []
