"""`modbot check-rules --explain` says what a ban's remove_data makes Lemmy take: a site
ban's takes whole communities and image files, more than "their content" said."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from modbot.starter import write_starter


def _explain(folder: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "check-rules", "--explain", "rules.yaml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def test_the_shipped_ban_says_communities_and_uploads_go_with_it(tmp_path: Path) -> None:
    write_starter(tmp_path, force=False)
    line = next(x for x in _explain(tmp_path) if x.startswith("[100] known abusive image:"))
    assert "site-wide permanently, and Lemmy removes their posts and comments, every " in line
    assert "community they are the first moderator of (with everyone's posts in it)" in line
    assert "and their uploads (Lemmy 0.19.10 and earlier: purges the files of their " in line
    assert "removing their content" not in line


def test_a_community_ban_says_only_that_community(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(
        "rules:\n"
        "  - name: nsfw here\n"
        "    if: {labels: [nsfw], community: {nsfw: false}}\n"
        "    then:\n"
        "      remove: true\n"
        "      ban: {scope: community, duration: 3d, remove_data: true}\n"
    )
    line = next(x for x in _explain(tmp_path) if x.startswith("[0] nsfw here:"))
    assert (
        "ban whoever posted or uploaded it (or whose profile shows it) from the community "
        "for 3d, and Lemmy removes their posts and comments in that community; "
    ) in line
    assert "first moderator" not in line
