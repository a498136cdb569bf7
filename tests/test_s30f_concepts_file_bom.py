"""`modbot worker --concepts gore=FILE` with FILE saved with a byte-order mark (Windows
Notepad's "UTF-8 with BOM") stopped the worker: "is not valid JSON: Unexpected UTF-8
BOM". The mark is now read as what it is, as for the tokens file."""

from __future__ import annotations

import json

from modbot.cli.worker import _named_sets


def test_a_concepts_file_with_a_byte_order_mark_is_read(tmp_path):
    spec = {"gore": {"prompts": ["a bloody wound"], "threshold": 0.22}}
    path = tmp_path / "gore.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(spec).encode())
    named = _named_sets([f"gore={path}"])
    assert [c.name for c in named["gore"]] == ["gore"]
