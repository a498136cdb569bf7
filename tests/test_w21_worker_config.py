"""`modbot worker` makes its WorkerConfig once: the one it checks before the model
loads is the one the service serves by."""

from __future__ import annotations

from classifier.service import WorkerConfig
from modbot.cli import main


def test_the_worker_config_is_made_once_and_served(tiny_checkpoint, monkeypatch, capsys):
    import classifier.service as service_module

    made: list[WorkerConfig] = []
    served: list[WorkerConfig] = []
    check = WorkerConfig.__post_init__

    def counted(self):
        check(self)
        made.append(self)

    monkeypatch.setattr(WorkerConfig, "__post_init__", counted)

    def no_socket(host, port):
        raise OSError(98, "Address already in use")

    original = service_module.WorkerService.__init__

    def init(self, loaded, config=None, *a, **kw):
        served.append(config)
        original(self, loaded, config, *a, **kw)

    monkeypatch.setattr(service_module, "bind_socket", no_socket)
    monkeypatch.setattr(service_module.WorkerService, "__init__", init)
    argv = ["worker", "--no-auth", "--model", "modbot-tiny", "--pretrained", "none"]
    argv += ["--checkpoint", str(tiny_checkpoint), "--device", "cpu", "--allow-random-weights"]
    argv += ["--deepdanbooru", "off", "--max-bytes-held", "2GB"]
    assert main(argv) == 1  # the model loaded, then no port to listen on
    assert "cannot listen" in capsys.readouterr().err
    assert len(made) == 1 and served == made
    assert made[0].max_bytes_held == 2_000_000_000


def test_a_tokens_file_that_is_not_utf8_is_named_and_no_byte_of_it_shown(tmp_path, capsys):
    path = tmp_path / "tokens"
    path.write_bytes(b"bot \xff\xfe-token-0123456789abcdef 10\n")
    assert main(["worker", "--tokens-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"the tokens file {path} is not UTF-8 text (at byte 4)" in err, err
    assert "0xff" not in err
