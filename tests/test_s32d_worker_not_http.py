"""A worker's address that answers something other than HTTP is said as that.

A URL pointing at another service (a web page's port, another protocol), or a proxy
sending a broken answer, was said as "the connection broke off mid-request: the worker
stopped or restarted, or a proxy before it cut the connection", sending the admin
looking for restarts that never happened. Now it says the answer is not HTTP and to
check the address and its port; a connection cut mid-answer is still said as one."""

from __future__ import annotations

import pytest
from test_h23_wrk_verdict_checked import TOKEN
from test_s32d_worker_heads_bounded import serve  # noqa: F401 (a fixture)

from classifier.remote import ClassifierUnavailable, RemoteEngine


@pytest.mark.parametrize(
    "answer",
    [b"<html>hello</html>\r\n\r\n", b"HTTP/1.1 200 OK\r\nnot a header line\r\n\r\n"],
    ids=["not a status line", "not a header line"],
)
def test_an_answer_that_is_not_http_is_said_as_one(serve, answer):  # noqa: F811
    url = serve(answer, 5, framed=False)
    with RemoteEngine([url], TOKEN, timeout=5) as engine:
        error = engine.submit(b"an image").exception(timeout=20)
    assert isinstance(error, ClassifierUnavailable), error
    said = str(error)
    assert f"{url}: answered what is not HTTP" in said, said
    assert "the address is the worker's" in said and "port" in said, said
    assert "stopped or restarted" not in said, said


def test_a_connection_cut_mid_answer_is_still_said_as_one(serve):  # noqa: F811
    url = serve(b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n{", 0, framed=False)
    with RemoteEngine([url], TOKEN, timeout=5) as engine:
        error = engine.submit(b"an image").exception(timeout=20)
    assert isinstance(error, ClassifierUnavailable), error
    assert "broke off mid-request" in str(error) and "stopped or restarted" in str(error)
