"""`modbot demo --rules FILE` with an admin's own rules: nothing leaves this machine, not
the images to the rules' classifier workers, not a request to their subscribed feeds."""

from __future__ import annotations

import re
import socket
import threading

from modbot.modes.demo import DEMO_REPORT_HTML, DEMO_REPORT_JSON, run_demo
from modbot.starter import write_starter

KEY = "ed25519:A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="


class Listener:
    """A port that counts who connects to it (and answers nothing)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


def test_the_demo_asks_no_remote_worker_and_fetches_no_feed(tmp_path):
    workers, feed = Listener(), Listener()
    write_starter(tmp_path / "mine")
    rules = tmp_path / "mine" / "rules.yaml"
    text = rules.read_text()
    text = re.sub(
        r"^classifier:\n",
        f"classifier:\n  remote: [http://127.0.0.1:{workers.port}]\n",
        text,
        count=1,
        flags=re.M,
    )
    text = text.replace(
        "\nfeeds: {}\n",
        f"\nfeeds:\n  peer: {{url: 'http://127.0.0.1:{feed.port}/hashes.json', "
        f"key: '{KEY}', use: known-bad}}\n",
    )
    assert "remote: [" in text and "peer:" in text
    rules.write_text(text)
    said: list[str] = []
    out = tmp_path / "out"
    out.mkdir()
    assert run_demo(out, rules=rules, force_test_model=True, print_=said.append) == 0
    assert workers.connections == 0 and feed.connections == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([DEMO_REPORT_HTML, DEMO_REPORT_JSON])
    text = "\n".join(said)
    assert "not contacted: its classifier.remote workers" in text and "feeds (peer)" in text
    assert "known abusive image" in text


def test_an_out_dir_that_cannot_be_written_is_said_before_the_run(tmp_path, capsys):
    from modbot.cli import main

    afile = tmp_path / "afile"
    afile.write_text("")
    assert main(["--env-file", "/dev/null", "demo", "--out-dir", str(afile / "out")]) == 1
    captured = capsys.readouterr()
    assert f"modbot demo: --out-dir {afile / 'out'}: {afile} is a file" in captured.err
    assert "modbot demo: a fake Lemmy" not in captured.out  # said before the demo started
