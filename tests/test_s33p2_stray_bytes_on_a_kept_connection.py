"""Bytes a host sends after the body its ``Content-Length`` announced, coming later
than the body's end (a host hiding its image need only delay them), arrive on the
kept connection while the next request waits for its answer. They were read as that
answer ("protocol_error: broken HTTP answer: Bad status line"): the next image was
never judged. Now a kept connection whose answer fails before its status line is asked
again, once, on a new connection, as browsers do (Chromium resends a request whose
reused socket fails before any answer). Bounded: never for a new connection, and never
more than once.

A public host name is played by a local server (the fetcher's ``dial``).
"""

from __future__ import annotations

import asyncio

from test_s33p_bytes_after_the_length import ANSWERS, JUNK, PNG, fetch

from modbot.fetch import Fetcher, FetchSkipped

GARBAGE = b"\r\nnot an answer\r\n\r\n"
GOOD = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n" % len(PNG)


def test_bytes_after_the_body_coming_later_are_not_the_next_answer():
    answer = ANSWERS["keep-alive"]
    got, connections = fetch(answer, times=2, split=len(answer) - len(JUNK))
    for one in got:
        assert not isinstance(one, FetchSkipped), one
        assert one.data == PNG
    assert connections == 2  # the next image asked again on a new connection


def _serve(answers: list[bytes]):
    """Answers the requests in the order they come, on any connection, with
    ``answers`` (the last one again past its end); counts connections and requests."""
    seen = {"connections": 0, "requests": 0}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen["connections"] += 1
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                seen["requests"] += 1
                writer.write(answers[min(seen["requests"], len(answers)) - 1])
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    return seen, handle


def fetch_from(answers: list[bytes], times: int):
    async def go():
        seen, handle = _serve(answers)
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        dial = lambda address, p: ("127.0.0.1", port)  # noqa: E731

        async def public(host: str, p: int) -> list[str]:
            return ["93.184.216.34"]

        got = []
        try:
            async with Fetcher(resolver=public, dial=dial) as fetcher:
                for _ in range(times):
                    try:
                        got.append(await fetcher.fetch("http://images.example/a.png"))
                    except FetchSkipped as exc:
                        got.append(exc)
        finally:
            server.close()
        return got, seen

    return asyncio.run(asyncio.wait_for(go(), 20))


def test_a_new_connections_answer_that_is_none_is_not_asked_again():
    (got,), seen = fetch_from([GARBAGE], times=1)
    assert isinstance(got, FetchSkipped) and got.reason == "protocol_error"
    assert "Bad status line" in str(got)
    assert seen == {"connections": 1, "requests": 1}


def test_a_kept_connection_is_asked_again_once_only():
    # the first answer kept its connection; the second is none, and so is the answer
    # on the new connection: refused, after one more request, not more
    (first, second), seen = fetch_from([GOOD + PNG, GARBAGE], times=2)
    assert not isinstance(first, FetchSkipped) and first.data == PNG
    assert isinstance(second, FetchSkipped) and second.reason == "protocol_error"
    assert "Bad status line" in str(second)
    assert seen == {"connections": 2, "requests": 3}


def test_a_kept_connection_answering_well_is_used_again():
    got, seen = fetch_from([GOOD + PNG], times=3)
    assert all(not isinstance(one, FetchSkipped) and one.data == PNG for one in got), got
    assert seen == {"connections": 1, "requests": 3}
