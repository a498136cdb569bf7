"""`modbot gate --help` is the documentation of its exit status; two common failures
were not in it: the address taken (another gate, or the worker, on the port: "cannot
listen", 1) and a --port-file whose folder is not there (2). A supervisor's script
reading the status, or an admin reading the help, found neither there."""

from __future__ import annotations

import re
import socket

from support.worker import dead_url

from modbot.cli import main
from modbot.cli.gate import HELP

SECRET = "gate-secret-0123456789abcdef"


def _exit_lines() -> str:
    return " ".join(HELP[HELP.index("Exit status:") :].split())


def _said_for(status: int) -> str:
    """What the help's exit status line says leads to ``status``."""
    return re.split(rf" {status} ", _exit_lines(), maxsplit=1)[1].split(f", {status + 1} ")[0]


def test_a_taken_address_exits_1_as_the_help_says(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MODBOT_GATE_SECRET", SECRET)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    # a remote classifier nobody answers: no model to load, the gate goes on to listen
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"classifier: {{remote: {{urls: ['{dead_url()}']}}}}\nrules: []\n")
    monkeypatch.setenv("MODBOT_STATE", str(tmp_path / "state.sqlite3"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = main(["gate", "--rules", str(rules), "--listen", f"127.0.0.1:{port}"])
    assert status == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    # before: "1 the rules, state file or classifier cannot be used"
    assert "cannot be listened on" in _said_for(1), _exit_lines()


def test_a_port_file_without_its_folder_exits_2_as_the_help_says(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MODBOT_GATE_SECRET", SECRET)
    port_file = tmp_path / "none" / "gate.port"
    assert main(["gate", "--listen", "127.0.0.1:0", "--port-file", str(port_file)]) == 2
    assert "--port-file" in capsys.readouterr().err
    # before: "2 a bad --listen or secret, or gate.budget not under --upload-timeout"
    assert "--port-file (its folder not there)" in _said_for(2), _exit_lines()
