"""`modbot check-rules --explain` says whom a rule's ban goes to.

Before, every ban read "ban the author", also for a stored file (`type: file`), whose
ban goes to its uploader, else to who first posted it, and for an upload or a profile
image; an admin reading the explanation could not tell whom the bot would ban."""

from __future__ import annotations

import textwrap
from pathlib import Path

from modbot.cli import main

RULES = """
rules:
  - name: files
    if: {type: file, labels: csam}
    then: {ban: {scope: site, duration: permanent}}
  - name: uploads
    if: {type: upload, labels: csam}
    then: {ban: {scope: site, duration: permanent}}
  - name: avatars
    if: {type: avatar, labels: csam}
    then: {ban: {scope: site, duration: permanent}}
  - name: posts
    if: {type: [post, comment], labels: csam}
    then: {ban: {scope: site, duration: permanent}}
  - name: anything
    if: {labels: csam}
    then: {ban: {scope: site, duration: permanent}}
"""


def test_explain_names_whom_each_ban_goes_to(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.yaml").write_text(textwrap.dedent(RULES).lstrip("\n"))
    assert main(["check-rules", "--explain"]) == 0
    said = {
        line.split(":", 1)[0].split("] ", 1)[1]: line
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("[")
    }
    assert "then ban the file's uploader (else who first posted it) site-wide" in said["files"]
    assert "then ban the uploader site-wide" in said["uploads"]
    assert "then ban the person whose profile shows it site-wide" in said["avatars"]
    assert "then ban the author site-wide" in said["posts"]
    assert "then ban whoever posted or uploaded it (or whose profile shows it)" in said["anything"]
