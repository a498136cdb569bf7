"""Shared fixtures.

- `fake_lemmy`: a started `fakelemmy.FakeLemmy` with the standard cast
  (`fakelemmy.scenarios.standard_cast`) at `fake_lemmy.cast`: `admin`, `bot`
  ("modbot", admin + bot account, show_nsfw/show_bot_accounts off), `mod` (moderates
  both communities), `alice` (local), `bob` (bob@remote.example), communities `pics` and
  `nsfw` (NSFW). Every password is `scenarios.PASSWORD` ("pw"). No posts yet.
- `photos`: name -> bytes of the real photos in tests/data (astronaut, chelsea, coffee,
  china, grace_hopper; see tests/data/README.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast

DATA = Path(__file__).parent / "data"

# A developer's own .env (say, in the checkout, for their instance) must not reach the
# bots the tests start; tests of the .env file take this out of their child's environment.
os.environ["MODBOT_ENV_FILE"] = os.devnull


@pytest.fixture
def fake_lemmy():
    with FakeLemmy() as lemmy:
        lemmy.cast = standard_cast(lemmy)
        yield lemmy


@pytest.fixture(scope="session")
def photos() -> dict[str, bytes]:
    return {path.stem: path.read_bytes() for path in sorted(DATA.glob("*.jpg"))}
