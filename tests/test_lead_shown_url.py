"""A URL shown in a log line or a message never carries the password written in it."""

from __future__ import annotations

import pytest

from modbot.lemmy.transport import shown_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://bot:hunter2pw@lemmy.example/api", "https://lemmy.example/api"),
        ("ftp://bot:hunter2pw@lemmy.example", "ftp://lemmy.example"),
        ("bot:hunter2pw@lemmy.example", "lemmy.example"),  # no scheme: no netloc either
        ("bot:hunter2pw@lemmy.example/pictrs", "lemmy.example/pictrs"),
        ("https//admin:hunter2pw@pictrs:8080", "pictrs:8080"),  # typos in the scheme
        ("https:/admin:hunter2pw@host", "host"),
        ("bot:hunter2/pw@host", "host"),  # a slash in the password
        ("https://lemmy.example/u/a@b", "https://lemmy.example/u/a@b"),  # @ in the path
        ("/api/v3/post", "/api/v3/post"),
    ],
)
def test_a_shown_url_has_no_password(url, shown):
    assert shown_url(url) == shown
