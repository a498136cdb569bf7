"""What `modbot report` pays to learn the classifier's concept version: computed from the
model's files (now) against loading the model to ask it (before).

    .venv/bin/python benchmarks/concept_version.py                      # ViT-L-14 random weights, CPU
    .venv/bin/python benchmarks/concept_version.py --model ViT-B-32 --rounds 5

Each way runs in a fresh Python process, as `modbot report` does, alternating rounds:
`local_concept_version(policy)` against `build_engine(policy).concept_version` for the
same rules file. Printed per way: the median wall time of the whole process (imports
included) and its peak RSS. Both must give the same version. Random weights stand for
the real ones (not downloadable here): building the model is the same work, and reading
a real checkpoint only adds to the "before" side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from modbot.config.policy import load_policy
from modbot.classify import build_engine, local_concept_version
policy = load_policy({rules!r})
if {way!r} == "files":
    version = local_concept_version(policy)
else:
    engine = build_engine(policy)
    version = engine.concept_version
    engine.close()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"version": version, "peak_mb": peak}}))
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", default="ViT-L-14")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="modbot-bench-") as tmp:
        rules = Path(tmp) / "rules.yaml"
        rules.write_text(
            f"classifier: {{model: {args.model}, pretrained: null, device: cpu, "
            "allow_random_weights: true, deepdanbooru: off}\nrules: []\n"
        )
        seconds: dict[str, list[float]] = {"files": [], "model": []}
        peaks: dict[str, list[float]] = {"files": [], "model": []}
        versions: set[str] = set()
        for n in range(args.rounds):
            for way in ("files", "model") if n % 2 == 0 else ("model", "files"):
                code = CHILD.format(root=str(ROOT), rules=str(rules), way=way)
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-c", code], capture_output=True, text=True, check=True
                )
                seconds[way].append(time.perf_counter() - started)
                out = json.loads(done.stdout.strip().splitlines()[-1])
                peaks[way].append(out["peak_mb"])
                versions.add(out["version"])
        if len(versions) != 1:
            raise SystemExit(f"the two ways disagree: {versions}")
        print(f"model {args.model} random weights on cpu, {args.rounds} rounds, fresh process each")
        for way, label in (
            ("files", "from the files (now)"),
            ("model", "loading the model (before)"),
        ):
            print(
                f"  {label:27} {statistics.median(seconds[way]):6.2f} s, "
                f"peak RSS {statistics.median(peaks[way]):7.0f} MB"
            )
        ratio = statistics.median(seconds["files"]) / statistics.median(seconds["model"])
        print(f"concept version: files/model time {ratio:.2f} (same version: {versions.pop()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
