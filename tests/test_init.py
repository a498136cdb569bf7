"""`modbot init [DIR]`: the shipped policy, empty hash lists and a .env template written
where the admin says, never over their own files without --force."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = ROOT / "modbot" / "defaults"


def modbot(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "modbot", *args], cwd=cwd, capture_output=True, text=True
    )


def test_init_writes_the_starter_files_and_never_overwrites_without_force(tmp_path):
    target = tmp_path / "bot"
    done = modbot("init", str(target), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (target / "rules.yaml").read_bytes() == (DEFAULTS / "rules.yaml").read_bytes()
    assert (target / ".env").read_bytes() == (DEFAULTS / "env.example").read_bytes()
    assert stat.S_IMODE((target / ".env").stat().st_mode) == 0o600
    lists = sorted(p.name for p in (target / "hashes").iterdir())
    assert lists == ["innocent.phash", "known-bad.phash", "known-bad.sha256"]
    for name in lists:  # empty lists: comments only
        lines = (target / "hashes" / name).read_text().splitlines()
        assert all(not line.strip() or line.startswith("#") for line in lines)
    assert f"wrote {target / 'rules.yaml'}" in done.stdout and "next: edit" in done.stdout
    # the written policy passes as it is, its hash lists found beside it
    checked = modbot("check-rules", "rules.yaml", cwd=target)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    (target / "rules.yaml").write_text("# mine\n")
    (target / "hashes" / "known-bad.sha256").write_text("a" * 64 + "\n")
    again = modbot("init", str(target), cwd=tmp_path)
    assert again.returncode == 1
    assert "already has rules.yaml, .env, hashes/" in again.stderr
    assert "nothing was written" in again.stderr and "--force" in again.stderr
    assert (target / "rules.yaml").read_text() == "# mine\n"
    assert (target / "hashes" / "known-bad.sha256").read_text() == "a" * 64 + "\n"

    forced = modbot("init", "--force", cwd=target)  # DIR defaults to the current folder
    assert forced.returncode == 0, forced.stderr
    assert (target / "rules.yaml").read_bytes() == (DEFAULTS / "rules.yaml").read_bytes()
    assert "a" * 64 not in (target / "hashes" / "known-bad.sha256").read_text()


def test_the_checkouts_policy_files_are_the_shipped_ones():
    """One copy: the top-level files a checkout documents link into the package."""
    for name, shipped in (
        ("rules.yaml", "rules.yaml"),
        ("hashes", "hashes"),
        (".env.example", "env.example"),
    ):
        assert (ROOT / name).resolve() == (DEFAULTS / shipped).resolve(), name


def test_a_file_where_a_folder_goes_stops_init_before_it_writes_anything(tmp_path, capsys):
    from modbot.cli import main

    target = tmp_path / "bot"
    target.mkdir()
    (target / "hashes").write_text("mine\n")
    assert main(["init", str(target)]) == 1
    err = capsys.readouterr().err
    assert f"{target / 'hashes'} is a file where modbot init puts a folder" in err
    assert "nothing was written" in err
    assert sorted(p.name for p in target.iterdir()) == ["hashes"]  # no half-done starter
    assert (target / "hashes").read_text() == "mine\n"
    # ...so once it is moved away, init works without --force
    (target / "hashes").unlink()
    assert main(["init", str(target)]) == 0


def test_a_link_to_nothing_is_not_written_through_with_or_without_force(tmp_path, capsys):
    """A .env linked to a secrets file not made yet: init would make that file, out of
    DIR, and report it written as DIR's .env."""
    from modbot.cli import main

    target, elsewhere = tmp_path / "bot", tmp_path / "elsewhere"
    target.mkdir()
    elsewhere.mkdir()
    (target / ".env").symlink_to(elsewhere / "secret.env")
    (target / "hashes").symlink_to(elsewhere / "lists")
    for force in ([], ["--force"]):
        assert main(["init", str(target), *force]) == 1
        err = capsys.readouterr().err
        assert f"{target / '.env'} (a link to {elsewhere / 'secret.env'}, which does " in err
        assert f"{target / 'hashes'} (a link to {elsewhere / 'lists'}, which" in err
        assert "nothing was written" in err and "Remove the link" in err
        assert list(elsewhere.iterdir()) == []
        assert sorted(p.name for p in target.iterdir()) == [".env", "hashes"]


def test_the_next_steps_can_be_pasted_into_a_shell_for_a_folder_with_a_space(
    tmp_path, capsys, monkeypatch
):
    import shlex

    from modbot.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["init", "my bot"]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("next:")]
    assert (
        "edit 'my bot/.env' (" in line
        and "then cd 'my bot' && modbot doctor && modbot report" in line
    )
    words = shlex.split(line.split(", then ", 1)[1])
    assert words[:2] == ["cd", "my bot"]
