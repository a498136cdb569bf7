"""The files `modbot keys` writes are the ones `modbot feed publish` and `modbot feed
verify` take: the private key by default, the public key file by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from modbot.cli import main


@pytest.fixture
def publisher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MODBOT_STATE", str(tmp_path / "state.sqlite3"))
    assert main(["keys"]) == 0  # feed.key, feed.key.pub
    return tmp_path


def test_publish_takes_the_key_modbot_keys_wrote_by_default(publisher: Path, capsys) -> None:
    out = publisher / "hashes.json"
    args = ["feed", "publish", "--out", str(out), "--instance", "a.example", "--allow-empty"]
    assert main(args) == 0, capsys.readouterr().err
    assert out.exists() and (publisher / "hashes.json.sig").exists()


def test_verify_takes_the_public_key_file_modbot_keys_wrote(publisher: Path, capsys) -> None:
    out = publisher / "hashes.json"
    args = ["feed", "publish", "--key", "feed.key", "--out", str(out), "--instance", "a.example"]
    assert main([*args, "--allow-empty"]) == 0
    capsys.readouterr()
    assert main(["feed", "verify", str(out), "--key", "feed.key.pub"]) == 0, capsys.readouterr()
    assert "valid: a.example" in capsys.readouterr().out
    # the key's text still works, as rules.yaml writes it
    public = (publisher / "feed.key.pub").read_text().strip()
    assert main(["feed", "verify", str(out), "--key", public]) == 0


def test_verify_given_the_private_key_file_says_to_give_the_public_one(
    publisher: Path, capsys
) -> None:
    out = publisher / "hashes.json"
    args = ["feed", "publish", "--key", "feed.key", "--out", str(out), "--instance", "a.example"]
    assert main([*args, "--allow-empty"]) == 0
    capsys.readouterr()
    assert main(["feed", "verify", str(out), "--key", "feed.key"]) == 1
    err = capsys.readouterr().err
    assert "feed.key.pub" in err and "BEGIN" not in err, err
