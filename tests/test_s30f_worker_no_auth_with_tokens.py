"""`modbot worker --no-auth --tokens-file FILE` served without tokens, the tokens file
silently ignored: an admin who meant the file (and left --no-auth in from a test) had a
worker anyone reaching its port could use, its quotas gone, and nothing said so. The
two contradict each other: the command now stops at once (exit 2) saying so, before
the model loads."""

from __future__ import annotations

from modbot.cli import main


def test_no_auth_with_a_tokens_file_is_refused_before_the_model_loads(tmp_path, capsys):
    tokens = tmp_path / "tokens"
    tokens.write_text("small sha256:" + "0" * 64 + " 60\n")
    # (a model that cannot load: the refusal must come first)
    args = ["--model", "nonesuch", "--checkpoint", str(tmp_path / "none.safetensors")]
    assert main(["worker", "--no-auth", "--tokens-file", str(tokens), *args]) == 2
    said = capsys.readouterr().err
    assert "--no-auth" in said and "--tokens-file" in said and "not both" in said
    assert "cannot start" not in said
