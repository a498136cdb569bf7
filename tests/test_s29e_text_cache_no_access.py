"""A text-embedding cache directory the process may not even look into (``sudo -u
modbot`` keeping HOME=/root, a MODBOT_TEXT_CACHE_DIR under another user's home): the
embeddings are computed and the engine starts, with a warning, as for one it cannot
write; Path.is_file raises PermissionError there, where it says False for a file that
is not there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# No torch (not needed to show it): a model that embeds as a list of numbers. As root the child drops to nobody once imported (root reads any
# directory); otherwise the directory is made unreadable.
CHILD = r"""
import logging, os, sys
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
from classifier import text_cache

class Model:
    device = "cpu"
    dtype = "torch.float32"
    def encode_texts(self, texts):
        return [[1.0, 0.0]] * len(texts)

# the writer's module without torch (never reached: the directory is made first, and
# cannot be); imported before the drop, as the bot has it by then
import types, safetensors
sys.modules["safetensors.torch"] = types.ModuleType("safetensors.torch")
sys.modules["safetensors.torch"].save_file = None
if os.geteuid() == 0:
    os.setgid(65534)
    os.setuid(65534)
print(text_cache.text_embeddings(Model(), ("a", "b"), "v1", cache_dir=sys.argv[1]))
"""


def test_a_cache_directory_that_cannot_be_looked_into_costs_the_computation(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() == 0:
        locked.chmod(0o700)  # root's: nobody cannot look in
    else:
        locked.chmod(0o000)
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(locked / "cache")],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=60,
        )
    finally:
        locked.chmod(0o700)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[[1.0, 0.0], [1.0, 0.0]]"
    assert "text-embedding cache" in done.stderr and "Permission denied" in done.stderr
