"""`modbot init --force` replaces a broken .env instead of failing on it."""

from __future__ import annotations

from modbot.cli import main
from modbot.starter import starter_files


def test_init_force_replaces_a_malformed_env_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MODBOT_ENV_FILE")  # ./.env is read, as outside the tests
    (tmp_path / ".env").write_text('LEMMY_PASSWORD="never closed\nthis is no line\n')
    assert main(["init", "--force", "."]) == 0, capsys.readouterr().err
    assert (tmp_path / ".env").read_text() == starter_files()[".env"].read_text()
