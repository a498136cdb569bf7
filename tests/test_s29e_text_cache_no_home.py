"""A service with no home directory (HOME unset, a user id with no passwd entry: a
container run with an arbitrary --user, a bare systemd unit) and no
MODBOT_TEXT_CACHE_DIR: the engine starts, computing its text embeddings, with a warning
saying where to keep them; Path.home() raised RuntimeError there and nothing started."""

from __future__ import annotations

import logging
import pwd
from types import SimpleNamespace

import torch

from classifier import text_cache


class FakeModel(SimpleNamespace):
    device = torch.device("cpu")
    dtype = torch.float32

    def encode_texts(self, texts):
        return torch.nn.functional.normalize(torch.arange(1.0, 1.0 + 4 * len(texts)).view(-1, 4))


def test_no_home_directory_costs_the_computation_not_the_start(monkeypatch, caplog):
    for name in ("HOME", "XDG_CACHE_HOME", text_cache.ENV_DIR):
        monkeypatch.delenv(name, raising=False)

    def no_entry(uid):
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    with caplog.at_level(logging.WARNING, logger="classifier.text_cache"):
        got = text_cache.text_embeddings(FakeModel(), ("a", "b"), "v1")
    assert got.shape == (2, 4)
    assert text_cache.ENV_DIR in caplog.text
