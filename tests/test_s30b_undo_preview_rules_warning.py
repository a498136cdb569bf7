"""`modbot undo` without --yes (the preview) asks Lemmy with the rules file's `lemmy:`
settings as --yes does, and says so when the file gives none (it cannot be read, or its
`lemmy:` section is not valid): the preview then talks to Lemmy with the defaults (API
version asked, 120 requests a minute), which is what an admin must know when the preview
cannot reach an instance that hides its version, or is rate-limited. Before, the
preview used the defaults silently; only --yes warned. Through `modbot.cli.main`
against the fake Lemmy."""

from __future__ import annotations

import pytest
from support.acting import Scenario

from modbot.cli import main

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
"""


@pytest.mark.parametrize("valid", [True, False], ids=["valid", "lemmy section not valid"])
def test_the_preview_says_when_the_rules_file_gives_no_lemmy_settings(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys, valid
):
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    monkeypatch.setenv("MODBOT_RULES", s.env["MODBOT_RULES"])
    (post,) = s.add_bad_posts(1)
    assert main(["run", "--once"]) == 0
    if not valid:
        text = s.rules.read_text()
        start = text.index("lemmy: {")
        s.rules.write_text(text[:start] + "lemmy: {api: v5}" + text[text.index("}", start) + 1 :])
    capsys.readouterr()
    fake_lemmy.clear_requests()

    code = main(["undo", "--rule", "known abusive image"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert f"would restore post {post.id}" in out, out + err
    assert fake_lemmy.mutating_requests() == []
    if valid:
        assert "warning" not in err, err
    else:
        assert f"warning: the rules file {s.rules}" in err and "v5" in err, err
        assert "lemmy.api auto" in err, err
