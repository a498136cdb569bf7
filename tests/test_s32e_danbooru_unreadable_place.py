"""`classifier.deepdanbooru: auto` looks in the Hugging Face cache folders; one this user
may not look into (HF_HOME or a home kept from another user, as `sudo -u modbot` may
keep HOME=/root) made `is_file` raise PermissionError, and modbot stopped at start with
a traceback, where a missing file only turns the anime pass off. Such a place is now
passed over, said in the log; a path given that cannot be looked at is a
DeepDanbooruError saying so (a clear error at start, as a missing one)."""

import errno
import logging
from pathlib import Path

import pytest
import torch

from classifier.deepdanbooru import (
    WEIGHTS_FILE,
    DeepDanbooruError,
    find_weights,
    load_deepdanbooru,
    write_random_weights,
)

TAGS = ["rating:safe", "rating:questionable", "rating:explicit", "bikini", "realistic"]


@pytest.fixture
def closed_place(tmp_path, monkeypatch):
    """A folder whose contents this user may not look at (tests run as root, for whom
    permissions do not hold: its stat is made to fail as the kernel's would)."""
    closed = tmp_path / "closed"
    closed.mkdir()
    stat = Path.stat

    def refusing(self, *args, **kwargs):
        if closed in self.parents:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", refusing)
    return closed


def test_auto_passes_over_a_place_it_may_not_look_into(tmp_path, closed_place, monkeypatch, caplog):
    found = tmp_path / "open"
    write_random_weights(found / WEIGHTS_FILE, TAGS, width=4)
    monkeypatch.setenv("HF_HOME", str(closed_place))
    monkeypatch.setenv("TRANSFORMERS_CACHE", str(found))
    caplog.set_level(logging.WARNING)
    assert find_weights("auto") == found / WEIGHTS_FILE
    assert "cannot look" in caplog.text and str(closed_place) in caplog.text
    # with nothing elsewhere: the anime pass is off, as without the file
    monkeypatch.delenv("TRANSFORMERS_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AIWORKER_CACHE_HOME", raising=False)
    assert load_deepdanbooru("auto", torch.device("cpu"), allow_random_weights=True) is None
    assert "the anime second pass is OFF" in caplog.text


def test_a_path_given_that_cannot_be_looked_at_is_a_clear_error(closed_place):
    with pytest.raises(DeepDanbooruError, match="cannot be read") as caught:
        find_weights(closed_place / WEIGHTS_FILE)
    assert "Permission denied" in str(caught.value)
