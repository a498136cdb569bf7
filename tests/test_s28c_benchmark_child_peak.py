"""benchmarks/hostile_memory.py reports the modbot child's own peak memory, not its own.

Before, the figure was wait4's ru_maxrss, which Linux carries from the parent into a
child started by vfork across its exec: every run read at least the benchmark's own peak
(its fake Lemmy and both corpora). Now `child_peak` reads the child's VmHWM as it runs.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

MB = 1024 * 1024
BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "hostile_memory.py"


@pytest.fixture(scope="module")
def benchmark():
    spec = importlib.util.spec_from_file_location("hostile_memory_benchmark", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux /proc only")
def test_the_child_peak_is_the_childs_not_the_benchmarks(benchmark):
    # this process (the benchmark's place) holds 600 MB, touched; the child 60 MB more
    # than a bare interpreter, long enough to be seen, then exits 3
    held = b"\x01" * (600 * MB)
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; b = b'\\x01' * (60 * 2**20); time.sleep(0.5); sys.exit(3)",
        ]
    )
    code, peak = benchmark.child_peak(child)
    assert code == 3
    # a bare interpreter is ~10 MB: the child's figure holds its 60 MB and not the 600 MB
    # of its parent (wait4's ru_maxrss read 600+ MB here)
    assert 60 * MB < peak < 250 * MB, peak / MB
    assert len(held) == 600 * MB
