"""`modbot worker --no-auth` with client tokens in the environment
(``MODBOT_WORKER_TOKENS_FILE`` or ``MODBOT_WORKER_TOKENS``, as the compose file sets
them) served anyone who reached its port, the tokens and their quotas silently ignored.
The same contradiction as ``--no-auth --tokens-file`` (refused since s30f), reached the
way a container is configured: the command now stops at once (exit 2) naming the
variable (never its value), before the model loads."""

from __future__ import annotations

import pytest

from modbot.cli import main

TOKEN = "env-token-0123456789abcdef"
# (a model that cannot load: the refusal must come first)
MODEL = ["--model", "nonesuch", "--pretrained", "none"]


@pytest.mark.parametrize("variable", ["MODBOT_WORKER_TOKENS", "MODBOT_WORKER_TOKENS_FILE"])
def test_no_auth_with_tokens_in_the_environment_is_refused(tmp_path, monkeypatch, capsys, variable):
    monkeypatch.delenv("MODBOT_WORKER_TOKENS", raising=False)
    monkeypatch.delenv("MODBOT_WORKER_TOKENS_FILE", raising=False)
    tokens = tmp_path / "tokens"
    tokens.write_text(f"small {TOKEN} 60\n")
    value = f"small {TOKEN} 60" if variable == "MODBOT_WORKER_TOKENS" else str(tokens)
    monkeypatch.setenv(variable, value)
    checkpoint = ["--checkpoint", str(tmp_path / "none.safetensors")]
    # before: it went on to load the model and served anyone ("no token needed")
    assert main(["worker", "--no-auth", *MODEL, *checkpoint]) == 2
    said = capsys.readouterr().err
    assert "--no-auth" in said and f"${variable}" in said and "not both" in said, said
    assert TOKEN not in said and "cannot start" not in said, said


def test_no_auth_alone_is_still_taken(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MODBOT_WORKER_TOKENS", raising=False)
    monkeypatch.setenv("MODBOT_WORKER_TOKENS_FILE", "")  # set empty: as unset
    port_file = ["--port-file", str(tmp_path / "none" / "port")]
    # past the check of the tokens: the next one, of --port-file's folder, stops it
    assert main(["worker", "--no-auth", *MODEL, *port_file]) == 2
    said = capsys.readouterr().err
    assert "--port-file" in said and "not both" not in said, said
