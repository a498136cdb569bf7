"""`modbot healthcheck --http http://gate:8096/healthz/` (a trailing slash, an easy slip
in a compose file's healthcheck). Before, the gate's router answered 307 to the path
without it: the healthcheck does not follow redirects (nor should it: it reports what
the URL answers), so it said "no answer" and exit 1 for ever, and the container was
marked unhealthy while the gate worked. Now /healthz/ is the gate's /healthz: the same
answer, ok or not."""

from __future__ import annotations

from test_gate_decide import gate_for

from classifier.service import WorkerServer, bind_socket
from modbot.cli import main


def test_healthcheck_of_the_gates_healthz_with_a_trailing_slash(tmp_path, capsys):
    gate = gate_for(tmp_path, "", {})
    server = WorkerServer(gate, bind_socket("127.0.0.1", 0))
    server.start()
    try:
        for path in ("/healthz", "/healthz/"):
            url = f"{server.url}{path}"
            rc = main(["healthcheck", "--http", url])
            out, err = capsys.readouterr()
            # before, for /healthz/: exit 1, "no answer" (a 307 with an empty body)
            assert rc == 0, err
            assert f"{url}: ok (classifier local" in out, out
    finally:
        server.stop()
        gate.close()
        gate.store.close()
