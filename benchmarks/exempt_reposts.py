"""What a repost of a file pays to learn whether a post or comment recorded showing it is
exempt under the rules of now (``Pipeline._exempt_now``): the whole record read and
decided at each ask (before) against the rows recorded since the last ask (now,
``ShownExempt``).

    .venv/bin/python benchmarks/exempt_reposts.py                       # 1,000 and 10,000
    .venv/bin/python benchmarks/exempt_reposts.py --records 20000 --reposts 50

For each size, a state file holds that many decisions of posts showing one file (its
bytes and its pict-rs alias; no author exempt), then a wave of reposts: each asks, then
is recorded, as the pipeline does. "before" is ``ShownExempt(store, files=0)``, which
keeps nothing (the whole read at every ask: the code before); "now" is one kept across
the wave, its first ask (the whole read) counted apart. Printed per way: the median time
of an ask, and the rows decided (``Policy.decide``) in the wave; for "now", its first
ask and the memory what it keeps takes (``sys.getsizeof`` of its dicts, keys and ints).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHA = "ab" * 32
ALIAS = "0a1b2c3d.png"


def _record(post_id: int) -> dict:
    return {
        "run_id": "bench",
        "decided_at": "2026-12-01T00:00:00Z",
        "item": {
            "kind": "post",
            "id": post_id,
            "author_id": 1000 + post_id,
            "author": f"https://lemmy.example/u/user{post_id}",
            "author_local": True,
            "author_is_moderator": False,
            "community": "pics@lemmy.example",
            "community_local": True,
        },
        "image": {"sha256": SHA, "alias": ALIAS, "location": "post_url", "hashes": {}},
        "actions": [],
    }


def main() -> None:
    from classifier.tiny import write_random_checkpoint
    from modbot.config.policy import load_policy
    from modbot.model import ImageRef, ItemImage
    from modbot.pipeline import ShownExempt
    from modbot.store import Store

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--reposts", type=int, default=20)
    args = parser.parse_args()
    ref = ImageRef(f"https://lemmy.example/pictrs/image/{ALIAS}", "post_url", alias=ALIAS)
    img = ItemImage(ref, sha256=SHA, verdict={"labels": [], "scores": {}}, hashes={})
    print(
        f"{'records':>8} {'way':>7} {'ask (median)':>13} {'first ask':>10} "
        f"{'rows decided':>13} {'kept':>9}"
    )
    for records in args.records:
        with tempfile.TemporaryDirectory() as directory:
            tmp = Path(directory)
            checkpoint = write_random_checkpoint(tmp / "tiny.safetensors")
            (tmp / "known-bad.txt").write_text(f"{SHA}\n")
            (tmp / "rules.yaml").write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
hash_lists:
  known-bad: {{kind: sha256, file: known-bad.txt}}
exempt: {{moderators: true, users: [carol], communities: [art]}}
rules:
  - name: known abusive image
    if: {{hash_list: known-bad}}
    then: {{remove: "Known abusive image", purge_image: true}}
""")
            policy = load_policy(tmp / "rules.yaml")
            store = Store(tmp / "state.sqlite3")
            with store.transaction():
                for post_id in range(1, records + 1):
                    store.add_decision(_record(post_id))
            decided = {"n": 0}
            decide = type(policy).decide

            def counting(self, subject, now=None, _decide=decide, decided=decided):
                decided["n"] += 1
                return _decide(self, subject, now)

            type(policy).decide = counting
            kept = ShownExempt(store)
            results = {"before": [], "now": []}
            rows = {"before": 0, "now": 0}
            first_ask = 0.0
            for number in range(args.reposts + 1):
                post_id = records + 1 + number
                for way, asker in (("before", ShownExempt(store, files=0)), ("now", kept)):
                    decided["n"] = 0
                    started = time.perf_counter()
                    why = asker.first(policy, set(), f"post:{post_id}", img)
                    took = time.perf_counter() - started
                    assert why is None
                    if way == "now" and number == 0:
                        first_ask = took  # the whole read, once
                    else:
                        results[way].append(took)
                        rows[way] += decided["n"]
                store.add_decision(_record(post_id))
            type(policy).decide = decide
            store.close()
            size = _kept_size(kept)
            for way in ("before", "now"):
                median = statistics.median(results[way]) * 1000
                first = f"{first_ask * 1000:8.1f}ms" if way == "now" else f"{'-':>10}"
                extra = f"{size / 1024:7.0f}KB" if way == "now" else f"{'-':>9}"
                print(f"{records:>8} {way:>7} {median:11.2f}ms {first} {rows[way]:>13} {extra}")


def _kept_size(kept: object) -> int:
    """The bytes of what ``kept`` holds (its reads' dicts, keys and ints)."""
    seen: set[int] = set()

    def size(value: object) -> int:
        if id(value) in seen:
            return 0
        seen.add(id(value))
        total = sys.getsizeof(value)
        if isinstance(value, dict):
            total += sum(size(k) + size(v) for k, v in value.items())
        elif isinstance(value, (list, tuple, set, frozenset)):
            total += sum(size(v) for v in value)
        elif hasattr(value, "__dict__"):
            total += size(vars(value))
        return total

    return size(kept._reads)


if __name__ == "__main__":
    main()
