"""`modbot check-rules` and a typo in `fetch.user_agent`.

`browser` and `modbot` are its two words; any other text is sent as the User-Agent
itself. Before, `user_agent: browsr` or `Modbot` passed check-rules and every image
host was then asked as "browsr": neither a browser (so a cloaking host shows the bot its
harmless page) nor modbot. Now a single word close to one of them is an error naming
the line and the word meant; a real User-Agent still passes."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import check, problems, write

RULES = """
fetch:
  user_agent: {value}
rules:
  - name: csam
    if: {{labels: csam}}
    then: {{report: true}}
"""


def test_a_misspelt_setting_is_refused_with_the_word_meant(tmp_path: Path):
    (line,) = problems(tmp_path, RULES.format(value="browsr"))
    assert line.startswith("rules.yaml:2: fetch.user_agent: ")
    assert "did you mean 'browser'?" in line
    (line,) = problems(tmp_path, RULES.format(value="Modbot"))
    assert "did you mean 'modbot'?" in line


def test_the_words_and_a_user_agent_of_ones_own_pass(tmp_path: Path):
    for value in ("browser", "modbot", '"Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"'):
        rc, out = check(tmp_path, write(tmp_path, RULES.format(value=value)))
        assert rc == 0, (value, out)
