"""`modbot gate --port-file FILE` that cannot be written is a clear error, not a
traceback (as the worker's): a directory that is not there is said before the classifier
loads (exit 2); a file that cannot be written once listening is said and the gate stops
(exit 1)."""

from __future__ import annotations

from support.policies import write_rules

from modbot.cli import main


def _env(monkeypatch, tmp_path, rules) -> None:
    monkeypatch.setenv("MODBOT_GATE_SECRET", "gate-secret-0123456789abcdef")
    monkeypatch.setenv("MODBOT_RULES", str(rules))
    monkeypatch.setenv("MODBOT_STATE", str(tmp_path / "state.sqlite3"))
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


def test_the_gate_refuses_a_port_file_in_a_missing_directory_before_loading(
    tmp_path, monkeypatch, capsys
):
    # a rules file that is not there: had it gone on to load it, that would be the error
    _env(monkeypatch, tmp_path, tmp_path / "missing.yaml")
    port_file = tmp_path / "nowhere" / "port"
    assert main(["gate", "--listen", "127.0.0.1:0", "--port-file", str(port_file)]) == 2
    err = capsys.readouterr().err
    assert f"--port-file {port_file}: its directory {tmp_path / 'nowhere'} does not exist" in err
    assert "Traceback" not in err


def test_the_gate_stops_with_a_message_when_its_port_file_cannot_be_written(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    _env(monkeypatch, tmp_path, write_rules(tmp_path, fake_lemmy, tiny))
    taken = tmp_path / "port"
    taken.mkdir()  # a directory where the file should go: cannot be replaced by a file
    assert main(["gate", "--listen", "127.0.0.1:0", "--port-file", str(taken)]) == 1
    err = capsys.readouterr().err
    assert f"modbot gate: cannot write the port to --port-file {taken}:" in err
    assert "Traceback" not in err
