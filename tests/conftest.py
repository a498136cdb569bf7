"""Shared fixtures.

- `fake_lemmy`: a started `fakelemmy.FakeLemmy` with the standard cast
  (`fakelemmy.scenarios.standard_cast`) at `fake_lemmy.cast`: `admin`, `bot`
  ("modbot", admin + bot account, show_nsfw/show_bot_accounts off), `mod` (moderates
  both communities), `alice` (local), `bob` (bob@remote.example), communities `pics` and
  `nsfw` (NSFW). Every password is `scenarios.PASSWORD` ("pw"). No posts yet.
- `photos`: name -> bytes of the real photos in tests/data (astronaut, chelsea, coffee,
  china, grace_hopper; see tests/data/README.md).
- `@pytest.mark.both_lemmys`: the test runs twice, `fake_lemmy` being a Lemmy 0.19 (API
  v3) then a Lemmy 1.0 (API v4, `FakeLemmy(version="1.0")`); ids `[0.19]`, `[1.0]`.
  Such a test names Lemmy's paths as v3 ones through `fake_lemmy.api_path(...)` (1.0's
  counterpart on 1.0). `--lemmy 0.19|1.0|both` runs marked tests on one or both (both).
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


LEMMY_VERSIONS = ("0.19", "1.0")


def pytest_addoption(parser):
    parser.addoption(
        "--lemmy",
        choices=[*LEMMY_VERSIONS, "both"],
        default="both",
        help="the fake Lemmy versions tests marked both_lemmys run against (default: both)",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "both_lemmys: run against a fake Lemmy 0.19 and a fake Lemmy 1.0"
    )


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("both_lemmys") is None:
        return
    if "fake_lemmy" not in metafunc.fixturenames:
        raise pytest.UsageError(f"{metafunc.definition.name}: both_lemmys needs fake_lemmy")
    chosen = metafunc.config.getoption("--lemmy")
    versions = LEMMY_VERSIONS if chosen == "both" else (chosen,)
    metafunc.parametrize("fake_lemmy", versions, indirect=True)


@pytest.fixture
def fake_lemmy(request):
    """A started fake Lemmy with the standard cast: 0.19, or the version the test is
    parametrized with (`both_lemmys`)."""
    version = getattr(request, "param", None)
    with FakeLemmy() if version in (None, "0.19") else FakeLemmy(version=version) as lemmy:
        lemmy.cast = standard_cast(lemmy)
        yield lemmy


@pytest.fixture(scope="session")
def photos() -> dict[str, bytes]:
    return {path.stem: path.read_bytes() for path in sorted(DATA.glob("*.jpg"))}
