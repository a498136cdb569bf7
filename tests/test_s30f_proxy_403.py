"""A proxy before a worker that refuses the bot itself (a web application firewall's 403
page for an unknown client, an address not allowed) was said as "refused the token
(403 Forbidden): set MODBOT_CLASSIFIER_TOKEN to a token that worker's admin gave you":
the admin chased a token the worker never saw. A 401/403 that is not the worker's own
JSON answer is now said as the proxy's refusal, with what to ask its admin for."""

from __future__ import annotations

import httpx
import pytest
from test_h23_wrk_verdict_checked import TOKEN

from classifier.remote import RemoteEngine as _RemoteEngine
from classifier.remote import WorkerRefused

URL = "https://gpu.example:8095"


def engine(answer: httpx.Response) -> _RemoteEngine:
    return _RemoteEngine([URL], TOKEN, transport=httpx.MockTransport(lambda request: answer))


def test_a_proxys_403_page_is_not_said_as_a_refused_token():
    page = httpx.Response(403, html="<html><title>Attention Required!</title></html>")
    with engine(page) as remote, pytest.raises(WorkerRefused) as refused:
        remote.check()
    said = str(refused.value)
    assert URL in said and "403" in said and "proxy" in said, said
    assert "set MODBOT_CLASSIFIER_TOKEN" not in said
    assert TOKEN not in said


def test_the_workers_own_401_is_still_said_as_the_token():
    own = httpx.Response(401, json={"error": "unknown token: ask this worker's admin for one"})
    with engine(own) as remote, pytest.raises(WorkerRefused) as refused:
        remote.check()
    assert "set MODBOT_CLASSIFIER_TOKEN" in str(refused.value)
