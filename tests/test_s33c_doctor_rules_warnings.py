"""`modbot doctor` on a rules file with warnings (a rule that can never act, one another
rule always beats): `modbot check-rules` prints each, and `modbot run` logs each at
start, but doctor's rules line said "ok" with the summary alone, so an admin checking
everything before the first start was not told. Now the line is a warning that says
each, with its line, as check-rules does; still exit status 0 (run starts)."""

from __future__ import annotations

from support.policies import DEFAULT_RULES, write_rules

from modbot.cli import main

NEVER_ACTS = """
  - name: uploads in pics
    if: {type: upload, community: {name: pics}}
    then: {remove: true}
"""


def _doctor(fake_lemmy, rules, monkeypatch, capsys) -> tuple[int, str]:
    for key, value in {
        "LEMMY_URL": fake_lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "MODBOT_ENV_FILE": "/dev/null",
        "HF_HUB_OFFLINE": "1",
    }.items():
        monkeypatch.setenv(key, value)
    status = main(["doctor", "--timeout", "3", "--rules", str(rules)])
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.split()[1:2] == ["rules"]]
    return status, line


def test_a_rule_that_can_never_act_is_a_warning_on_the_rules_line(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    rules = write_rules(tmp_path, fake_lemmy, tiny, rules=DEFAULT_RULES + NEVER_ACTS)
    assert main(["check-rules", str(rules)]) == 0
    said = capsys.readouterr().out
    warning = (
        f"{rules}:26: warning: rule 'uploads in pics' can never act: an upload has no community"
    )
    assert warning in said, said
    status, line = _doctor(fake_lemmy, rules, monkeypatch, capsys)
    assert status == 0, line  # a warning: run starts
    assert line.startswith("warn"), line
    assert "rule 'uploads in pics' can never act: an upload has no community" in line, line
    assert f"{rules}:26" in line, line  # where, as check-rules says it
    assert "3 rules" in line, line  # the summary stays


def test_a_rules_file_without_warnings_stays_ok(fake_lemmy, tiny, tmp_path, monkeypatch, capsys):
    rules = write_rules(tmp_path, fake_lemmy, tiny)
    status, line = _doctor(fake_lemmy, rules, monkeypatch, capsys)
    assert status == 0 and line.startswith("ok"), line
    assert "warning" not in line, line
