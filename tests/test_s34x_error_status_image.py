"""An image served with an error status (404, 410, 500...) is drawn by browsers: an
``<img>`` shows the body of any answer that decodes as an image, whatever its status.
A host could so show everyone an image the bot never judged (``http_404``, matched by no
rule but ``fetch_failed``). The bot now judges such a body as the image people see, and
the record says the status it came with; an error page that is no image stays
``http_<status>``, read no further than its first bytes.

A public host name is played by a local server (the fetcher's ``dial``), as in
test_s31w_browser_framing.
"""

from __future__ import annotations

import asyncio

from support.bot import Bot, sha
from support.policies import BAD, write_removal_rules
from test_s31w_browser_framing import PNG

from fakelemmy import hostile
from modbot.fetch import BadStatus, Fetcher, FetchLimits, FetchSkipped


async def _public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


def fetch(answer: bytes, *, stall: bool = False, limits: FetchLimits | None = None, piece: int = 0):
    """What the fetcher makes of ``answer`` (the whole answer, status line first), sent
    in pieces of ``piece`` bytes (0: at once), the connection closed after it; with
    ``stall`` the server then sends nothing more and keeps the connection open."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            step = piece or len(answer)
            for at in range(0, len(answer), step):
                writer.write(answer[at : at + step])
                await writer.drain()
                if piece:
                    await asyncio.sleep(0)
            if stall:
                await asyncio.sleep(60)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def go():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        dial = lambda address, p: ("127.0.0.1", port)  # noqa: E731
        try:
            async with Fetcher(limits, resolver=_public, dial=dial) as fetcher:
                try:
                    return await fetcher.fetch("http://images.example/a.png")
                except FetchSkipped as exc:
                    return exc
        finally:
            server.close()

    return asyncio.run(asyncio.wait_for(go(), 20))


def test_an_image_sent_with_404_is_judged_and_said():
    got = fetch(
        b"HTTP/1.1 404 Not Found\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n"
        % len(PNG)
        + PNG
    )
    assert not isinstance(got, Exception), got
    assert got.data == PNG and got.media_type == "image/png"
    assert got.ended_early is not None and "HTTP 404" in got.ended_early


def test_an_image_sent_with_500_and_a_text_type_is_judged_too():
    # the type a server claims does not stop a browser drawing it
    got = fetch(b"HTTP/1.1 500 Oops\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n" + PNG)
    assert not isinstance(got, Exception), got
    assert got.data == PNG and "HTTP 500" in (got.ended_early or "")


def test_an_error_page_is_still_the_status():
    page = hostile.html_page()
    got = fetch(
        b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n"
        % len(page)
        + page
    )
    assert isinstance(got, BadStatus) and got.reason == "http_404", got
    empty = fetch(b"HTTP/1.1 410 Gone\r\nContent-Length: 0\r\n\r\n")
    assert isinstance(empty, BadStatus) and empty.reason == "http_410", empty


def test_an_error_page_is_not_read_past_its_first_bytes():
    # its first kilobyte says it is no image: the rest (here never sent) is not waited for
    page = b"<!DOCTYPE html><html><body>" + b"x" * 2000
    got = fetch(
        b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 999999\r\n\r\n"
        + page,
        stall=True,
        limits=FetchLimits(read_timeout=8, total_timeout=8),
    )
    assert isinstance(got, BadStatus) and got.reason == "http_404", got


def test_a_known_bad_image_served_with_404_is_removed(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    url = lemmy.add_remote_behaviour("/lost.jpg", photos[BAD], status=404)
    post = lemmy.add_post(cast.pics, cast.bob, name="words")
    comment = lemmy.add_comment(post, cast.bob, content=f"look ![x]({url})")
    bot = Bot(
        lemmy,
        tmp_path,
        write_removal_rules(tmp_path, lemmy, tiny_checkpoint, known_bad=[sha(photos[BAD])]),
    )

    bot("run", "--once")

    assert comment.removed
    (record,) = [d for d in bot.decisions() if d["item"]["kind"] == "comment"]
    assert record["skipped"] is None and record["rule"] == "known abusive image"
    assert record["image"]["sha256"] == sha(photos[BAD])
    assert "HTTP 404" in record["image"]["ended_early"]


def test_an_svg_with_a_raster_sent_with_404_is_judged_too():
    from test_s34x_svg_embedded_raster import served, svg

    jpeg = hostile.jpeg()  # (an SVG longer than the first bytes looked at)
    got = fetch(served(svg(jpeg)).replace(b"200 OK", b"404 Not Found", 1))
    assert not isinstance(got, Exception), got
    assert got.data == jpeg and "HTTP 404" in (got.ended_early or "")
    assert "SVG" in (got.ended_early or "")
