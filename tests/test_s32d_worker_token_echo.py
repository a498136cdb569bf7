"""A worker or proxy that echoes the bot's token in its error never gets it logged.

What a worker answers with an error (its JSON "error", or the status line's reason) is
said in the log and in the decision record of each image it was asked about. A proxy
or a worker echoing the request's Authorization header there (a debugging proxy, a
worker of another make: "unknown token mbw_...") had the bot write its own token to
its log and its records. Now the token is taken out of whatever a worker says."""

from __future__ import annotations

import logging

import httpx
import pytest
from test_h23_wrk_verdict_checked import TOKEN, URLS

from classifier.remote import RemoteEngine, RemoteError


def echoing(status: int, where: str) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        said = f"unknown credentials {request.headers['authorization']}"
        if where == "json":
            return httpx.Response(status, json={"error": said})
        return httpx.Response(status, extensions={"reason_phrase": said.encode()})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("where", ["json", "reason"])
@pytest.mark.parametrize("status", [401, 400, 502])
def test_a_token_echoed_in_an_error_is_not_said(caplog, status, where):
    caplog.set_level(logging.DEBUG)
    with RemoteEngine(URLS, TOKEN, transport=echoing(status, where)) as engine:
        error = engine.submit(b"an image").exception(timeout=20)
        try:  # at start: a 401 or 400 stops the bot, a 502 is logged
            at_start = str(engine.check())
        except RemoteError as exc:
            at_start = str(exc)
    assert isinstance(error, RemoteError), error
    # (httpx's own line of each request, at -v only, has the status line as it came)
    logged = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]
    said = "\n".join([str(error), at_start, *logged])
    assert "http://w1:8095" in said
    assert TOKEN not in said and TOKEN[:12] not in said, said
