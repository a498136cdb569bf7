"""A rules file in another encoding than UTF-8: check-rules names the line, says what to do."""

from __future__ import annotations

from pathlib import Path

from modbot.cli import main


def test_latin1_rules_file_names_the_line(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.yaml").write_bytes(
        b"# rules\nrules:\n  - name: caf\xe9 photos\n    if: {labels: nsfw}\n"
        b"    then: {report: true}\n"
    )
    assert main(["check-rules", "rules.yaml"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("rules.yaml:3: ")
    assert "UTF-8" in out[0] and "0xe9" in out[0] and "save the file as UTF-8" in out[0]
    assert "position" not in out[0] and "codec" not in out[0]
    assert out[1] == "rules.yaml: 1 problem; modbot will not start with this file"
