"""The policy and the record reading of the removal-path tests (test_removal_paths,
test_uploader_ban, test_remote_video): one known-bad rule whose `then` each test sets."""

from __future__ import annotations

from pathlib import Path

from support.bot import Bot


def rules(
    directory: Path, lemmy, checkpoint: Path, known_bad, then: str, only: str = "any"
) -> Path:
    (directory / "known-bad.txt").write_text("".join(f"{h}\n" for h in known_bad))
    remote = lemmy.remote_url.split("//", 1)[1]
    path = directory / "rules.yaml"
    path.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
hash_lists:
  known-bad: {{kind: sha256, file: known-bad.txt}}
fetch: {{allow_hosts: ["{remote}"]}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
schedule: {{poll_every: 60s, sweep_cron: null, sweep_since: 30d}}
safety_valve: {{max_destructive_actions_per_hour: 1000}}
rules:
  - name: bad image
    priority: 100
    if: {{hash_list: known-bad, type: {only}}}
    then: {then}
""")
    return path


def outcomes(bot: Bot, kind: str, item_id: int) -> dict[str, dict]:
    (record,) = [
        d for d in bot.decisions() if (d["item"]["kind"], d["item"]["id"]) == (kind, item_id)
    ]
    return {a["action"]: a for a in record["actions"]}
