"""`modbot healthcheck --http URL` pointed at something that is not a gate's or worker's
/healthz (the daemon's metrics port, Lemmy itself: a wrong port) said only "no answer
(JSONDecodeError: Expecting value: line 1 column 1 (char 0))": there was an answer, and
the line gave neither its status nor what to check. It now says both."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, start_http_server

from modbot.cli import main


def test_the_daemons_metrics_port_is_said_to_be_no_healthz(capsys):
    registry = CollectorRegistry()
    Counter("x", "a metric", registry=registry).inc()
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
    try:
        assert main(["healthcheck", "--http", url]) == 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    said = capsys.readouterr()
    assert said.out == ""
    line = said.err.strip()
    assert line.startswith(f"{url}: no answer (HTTP 200, not JSON"), line
    assert "gate's or a worker's /healthz" in line, line
    assert "`modbot healthcheck` without --http" in line, line
    assert "JSONDecodeError" not in line, line
