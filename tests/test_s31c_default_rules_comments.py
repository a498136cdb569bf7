"""The shipped rules.yaml says, where a moderator reads it, what a site ban's
remove_data takes by Lemmy release, and that a hash on an allow-list and on a list a
rule acts by is spared and warned of; the warning is what `modbot init`'s files give."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from modbot.starter import write_starter

SHIPPED = Path(__file__).parent.parent / "modbot" / "defaults" / "rules.yaml"


def _comment_before(text: str, line: str) -> str:
    """The comment lines right above `line` (the first line holding it), joined."""
    lines = text.splitlines()
    at = next(i for i, each in enumerate(lines) if each.strip() == line)
    said = []
    for each in reversed(lines[:at]):
        if not each.strip().startswith("#"):
            break
        said.append(each.strip().lstrip("#").strip())
    return " ".join(reversed(said))


def test_remove_data_says_what_each_lemmy_release_takes() -> None:
    said = _comment_before(SHIPPED.read_text(), "remove_data: true")
    said = re.sub(r"\s+", " ", said)
    assert "0.19.10 and earlier purge the image files of their avatar, banner and image" in said
    assert "even where other people's posts show the same image" in said
    assert "0.19.11 and later, and 1.0, delete all their uploads" in said
    assert "every community they are the first moderator of" in said


def test_exempt_says_an_allow_list_wins_and_check_rules_warns(tmp_path: Path) -> None:
    said = _comment_before(SHIPPED.read_text(), "exempt:")
    assert "admins (always" in said
    assert "check-rules and every start warn of it" in said
    # what the comment says, on the files `modbot init` writes
    write_starter(tmp_path, force=False)
    phash = "8f373714acfcf4d0"
    for name in ("known-bad.phash", "innocent.phash"):
        with (tmp_path / "hashes" / name).open("a") as f:
            f.write(f"{phash}\n")
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "check-rules", "rules.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hash list 'known-bad-similar': this hash is also on the allow-list 'innocent'" in (
        done.stdout
    )
