"""The hash-sharing commands' own command lines: a mistake in an option is a usage error
(exit status 2, one line naming the option), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from modbot.cli import main

KEY = "ed25519:A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="


def test_feed_verify_with_a_max_age_that_is_no_duration_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "hashes.json"
    feed.write_text("{}")
    with pytest.raises(SystemExit) as info:
        main(["feed", "verify", str(feed), "--key", KEY, "--max-age", "a week"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --max-age: expected a duration like 30s" in err
    assert "Traceback" not in err


def test_hash_says_which_exit_status_a_wrong_command_line_has(
    capsys: pytest.CaptureFixture[str],
) -> None:
    coffee = Path(__file__).parent / "data" / "coffee.jpg"
    assert main(["hash", "--format", "threatexchange", "--kind", "md5", str(coffee)]) == 2
    assert "holds pdq hashes only" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["hash", "--help"])
    assert "2 the command line is wrong" in " ".join(capsys.readouterr().out.split())
