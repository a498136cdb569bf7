"""An env file is read bounded: a device or a huge file named by mistake is said, in
a line, instead of being read into memory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modbot.config.settings import MAX_ENV_FILE_BYTES, read_env_file
from modbot.errors import SettingsError


def test_an_endless_env_file_is_refused_not_read_whole():
    with pytest.raises(SettingsError, match=r"env file /dev/zero is over 1 MiB"):
        read_env_file("/dev/zero")


def test_a_large_env_file_is_refused_and_one_within_the_bound_read(tmp_path: Path):
    big = tmp_path / "big.env"
    line = "LEMMY_URL=https://lemmy.example\n"
    big.write_text(line + "#" * MAX_ENV_FILE_BYTES)
    with pytest.raises(SettingsError, match="is it the right file"):
        read_env_file(big)
    big.write_text(line + "#" * (MAX_ENV_FILE_BYTES - len(line)))
    assert read_env_file(big) == {"LEMMY_URL": "https://lemmy.example"}
    assert read_env_file(os.devnull) == {}


def test_a_pipe_is_read_as_a_file(tmp_path: Path):
    r, w = os.pipe()
    os.write(w, b"LEMMY_USERNAME=modbot\n")
    os.close(w)
    try:
        assert read_env_file(f"/dev/fd/{r}") == {"LEMMY_USERNAME": "modbot"}
    finally:
        os.close(r)


def test_a_misspelt_setting_in_the_file_is_said_with_the_name_meant(tmp_path: Path, caplog):
    import logging

    from modbot.config.settings import load_env_file

    env = tmp_path / "modbot.env"
    env.write_text(
        "MODBOT_STAT=/var/lib/modbot/state.sqlite3\nLEMMY_USER=modbot\n"
        "MODBOT_STATE=s.sqlite3\nLEMMY_DATABASE_URL=postgres://db\nOTHER_TOOL=1\n"
    )
    environ: dict[str, str] = {}
    with caplog.at_level(logging.WARNING, logger="modbot.config.settings"):
        load_env_file(env, environ)
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        f"{env}: MODBOT_STAT is not a setting modbot reads; did you mean MODBOT_STATE? "
        "Rename it: as it is, modbot goes without it",
        f"{env}: LEMMY_USER is not a setting modbot reads; did you mean LEMMY_USERNAME or "
        "LEMMY_URL? Rename it: as it is, modbot goes without it",
    ]
    assert environ["MODBOT_STAT"] == "/var/lib/modbot/state.sqlite3"  # still read as written
