"""A tokens file saved with a byte-order mark (Windows Notepad's "UTF-8 with BOM") was
refused: "the client name '\\ufeffbot' (the first field): use letters, digits ...",
naming a character the admin cannot see. The mark is now read as what it is, as the
bot's other files (hash lists) read it."""

from __future__ import annotations

from classifier.service import hash_token, load_tokens


def test_a_tokens_file_with_a_byte_order_mark_is_read(tmp_path):
    token = "bot-token-0123456789abcdefgh"
    tokens = tmp_path / "tokens"
    tokens.write_bytes(
        "\ufeffbot {} 600\r\nother {} unlimited\r\n".format(
            token, hash_token("another-token-0123456789")
        ).encode("utf-8")
    )
    clients = load_tokens(tokens, environ={})
    assert clients is not None
    assert [(c.name, c.quota) for c in clients] == [("bot", 600), ("other", None)]
