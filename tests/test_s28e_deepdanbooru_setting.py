"""`modbot check-rules` and `classifier.deepdanbooru`: auto, off, or a weights file.

Any other text is read as the file's path. Before, `deepdanbooru: atuo` or `none` passed
check-rules, and `modbot run` then stopped at start, after loading the model, saying
that weights file "atuo" does not exist. Now a bare word that names no file is an error
at its line with the word meant; a path to a file not here is a warning, as a missing
classifier.checkpoint is (the file may be on the machine that runs the bot)."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import check, problems, write

RULES = """
classifier:
  deepdanbooru: {value}
rules:
  - name: csam
    if: {{labels: csam}}
    then: {{report: true}}
"""


def test_a_misspelt_word_is_refused_with_the_word_meant(tmp_path: Path):
    (line,) = problems(tmp_path, RULES.format(value="atuo"))
    assert line.startswith("rules.yaml:2: classifier.deepdanbooru: 'atuo'")
    assert "did you mean 'auto'?" in line
    (line,) = problems(tmp_path, RULES.format(value="none"))
    assert "use auto, off" in line


def test_a_path_not_here_is_a_warning_and_one_here_passes(tmp_path: Path):
    rc, out = check(tmp_path, write(tmp_path, RULES.format(value="weights/model-resnet.pt")))
    assert rc == 0, out
    assert out[0].startswith("rules.yaml:2: warning: classifier.deepdanbooru:"), out
    assert "weights/model-resnet.pt" in out[0]
    (tmp_path / "danbooru").write_bytes(b"weights")
    for value in ("auto", "off", "danbooru"):
        rc, out = check(tmp_path, write(tmp_path, RULES.format(value=value)))
        assert rc == 0 and len(out) == 1, (value, out)
