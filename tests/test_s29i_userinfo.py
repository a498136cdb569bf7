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


def test_a_password_in_a_redirect_with_a_malformed_host_is_neither_logged_nor_recorded(caplog):
    location = "http://bob:s3cret@ex\uff03ample.com/a.png".encode()

    async def redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\n")
        writer.write(b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    async def go() -> BaseException:
        server = await asyncio.start_server(redirect, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with Fetcher(allowed_hosts=[f"127.0.0.1:{port}"]) as fetcher:
                with pytest.raises(BadURL) as info:
                    await fetcher.fetch(f"http://127.0.0.1:{port}/a.png")
        finally:
            server.close()
        return info.value

    with caplog.at_level(logging.INFO, logger="modbot.fetch"):
        refused = asyncio.run(asyncio.wait_for(go(), 20))
    assert refused.reason == "bad_url"
    assert "redirect" in refused.message and "NFKC" in refused.message
    assert "s3cret" not in refused.message
    assert "s3cret" not in caplog.text
