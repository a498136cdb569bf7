"""A password written in a link (``http://user:password@host/...``) is never logged or
recorded. Python's URL parser quotes the whole authority, the password with it, when
the host has a character that NFKC normalization turns into ``/ ? # @ :`` (a fullwidth
``\uff03``); the refusal's message, logged and kept as the record's ``skipped_detail``,
quoted it too."""

from __future__ import annotations

import asyncio
import logging

import pytest

from modbot.fetch import BadURL, Fetcher


@pytest.mark.parametrize("host", ["ex\uff03ample.com", "\u2100.example", "a\uff0fb.example"])
def test_a_password_in_a_link_with_a_malformed_host_is_neither_logged_nor_recorded(host, caplog):
    url = f"http://alice:hunter2@{host}/a.png"

    async def go() -> BaseException:
        async with Fetcher() as fetcher:
            with pytest.raises(BadURL) as info:
                await fetcher.fetch(url)
        return info.value

    with caplog.at_level(logging.INFO, logger="modbot.fetch"):
        refused = asyncio.run(go())
    assert refused.reason == "bad_url"
    assert "NFKC" in refused.message  # still says what is wrong
    assert "hunter2" not in refused.message
    assert "hunter2" not in str(refused)
    assert "hunter2" not in caplog.text
    assert "skipped image" in caplog.text
