"""The URL checks of modbot.lemmy.probe (no network)."""

from __future__ import annotations

import pytest

from modbot.lemmy.probe import url_problem


@pytest.mark.parametrize("path", ["/api/v3", "/api/v4", "/api/v4/", "/api"])
def test_an_api_path_in_lemmy_url_is_said_for_either_api_version(path):
    # A 1.0 instance speaks /api/v4: the advice must not say modbot adds /api/v3.
    said = url_problem(f"https://lemmy.example{path}")
    assert said is not None and "give the instance's address, https://lemmy.example" in said
    assert "/api/v3 or /api/v4" in said
