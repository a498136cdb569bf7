"""A worker's tokens file with a token no HTTP header can carry (a non-ASCII letter, a
control character) is refused at start, by line, without the token: a client sends the
token in a header, and its own check refuses such a token, so it could never match."""

from __future__ import annotations

import pytest

from modbot.cli import main

TOKEN = "mbw_Zm9vYmFyYmF6cXV4cXV1ZXV-dokładny"  # "ł": not ASCII


@pytest.mark.parametrize("token", [TOKEN, "mbw_Zm9vYmFyYmF6cXV4\x7fcXV1eGNvcmdl"])
def test_a_token_a_header_cannot_carry_is_refused_by_line(token, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MODBOT_WORKER_TOKENS", raising=False)
    tokens = tmp_path / "tokens"
    tokens.write_text(f"# clients\nalice {token} 600\n", encoding="utf-8")
    assert main(["worker", "--tokens-file", str(tokens)]) == 2  # before any model loads
    err = capsys.readouterr().err
    assert f"{tokens}:2: the token (the second field) has a character an HTTP header" in err
    assert token not in err
