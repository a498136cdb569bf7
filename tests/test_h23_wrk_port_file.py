"""`modbot worker --port-file FILE` that cannot be written is a clear error, not a
traceback: a directory that is not there is said before the model loads (exit 2); a
file that cannot be written once listening is said and the worker stops (exit 1)."""

from __future__ import annotations

from modbot.cli import main


def test_a_port_file_in_a_missing_directory_is_refused_before_the_model_loads(tmp_path, capsys):
    port_file = tmp_path / "nowhere" / "port"
    # (a checkpoint that is not there: had the model been loaded, that would be the error)
    argv = ["worker", "--no-auth", "--listen", "127.0.0.1:0", "--port-file", str(port_file)]
    assert main([*argv, "--checkpoint", str(tmp_path / "missing.safetensors")]) == 2
    err = capsys.readouterr().err
    assert f"--port-file {port_file}: its directory {tmp_path / 'nowhere'} does not exist" in err
    assert "Traceback" not in err


def test_a_port_file_that_cannot_be_written_stops_the_worker_with_a_message(
    tiny_checkpoint, tmp_path, capsys
):
    taken = tmp_path / "port"
    taken.mkdir()  # a directory where the file should go: cannot be replaced by a file
    argv = ["worker", "--no-auth", "--model", "modbot-tiny", "--pretrained", "none"]
    argv += ["--checkpoint", str(tiny_checkpoint), "--device", "cpu", "--allow-random-weights"]
    argv += ["--deepdanbooru", "off", "--listen", "127.0.0.1:0", "--port-file", str(taken)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"modbot worker: cannot write the port to --port-file {taken}:" in err
    assert "Traceback" not in err
