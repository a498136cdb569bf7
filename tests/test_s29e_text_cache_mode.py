"""The text-embedding cache is filled by one user and read by another: the Docker image
fills it at build time as root and runs as ``modbot``; ``modbot classify --prepare``
may run as an admin before the service starts. Its files get the permissions any file
written under the process's umask gets, not the owner-only ones of a temporary file
(then the service could not read them and computed them again at every start)."""

import os
import stat
from types import SimpleNamespace

import torch

from classifier import text_cache


class FakeModel(SimpleNamespace):
    device = torch.device("cpu")
    dtype = torch.float32

    def encode_texts(self, texts):
        return torch.nn.functional.normalize(torch.arange(1.0, 1.0 + 4 * len(texts)).view(-1, 4))


def test_the_cache_file_is_readable_by_others_as_the_umask_allows(tmp_path):
    old = os.umask(0o022)
    try:
        text_cache.text_embeddings(FakeModel(), ("a", "b"), "v1", cache_dir=tmp_path)
        plain = tmp_path / "plain"
        plain.write_bytes(b"")
    finally:
        os.umask(old)
    (cached,) = tmp_path.glob("*.safetensors")
    mode = stat.S_IMODE(cached.stat().st_mode)
    assert mode == stat.S_IMODE(plain.stat().st_mode) == 0o644, oct(mode)
