"""The rules files the tests run the bot with, and content to run it on.

`write_rules`: a known-bad list, an allow list, and a custom concept `probe` that one
chosen test photo fires (the `tiny` fixture measures it); `write_sweep_rules`: a
known-bad list with removal, purge and ban, and a schedule; `write_removal_rules`: a
known-bad list with removal and purge. `backlog` fills the fake with old posts.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fakelemmy import hostile
from fakelemmy.state import now
from support.bot import sha

PROMPT = "a photo of a cat"
BAD = "coffee"  # the photo on the known-bad hash list
GENERATED = hostile.jpeg(color=(20, 160, 40))  # an upload never posted


DEFAULT_RULES = """
  - name: known abusive image
    priority: 100
    if: {hash_list: known-bad}
    then:
      remove: "Known abusive image (sha256 {{sha256}})"
      purge_image: true
      ban: {scope: site, duration: permanent, remove_data: false, reason: "known abusive image"}
  - name: probe
    if: {labels: [probe]}
    then: {report: "probe matched ({{scores.probe}})"}
"""


def _policy_head(checkpoint: Path, directory: Path, known_bad, options="", concepts="") -> str:
    """How every rules file of the tests starts: the tiny model (``options`` added to
    its settings), then ``concepts`` if any, then the known-bad list (written next to
    it)."""
    (directory / "known-bad.txt").write_text("".join(f"{h}\n" for h in known_bad))
    return f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true {options}}}{concepts}
hash_lists:
  known-bad: {{kind: sha256, file: known-bad.txt}}"""


def _remote(lemmy) -> str:
    return lemmy.remote_url.split("//", 1)[1]


def write_rules(
    directory: Path,
    lemmy,
    tiny,
    *,
    known_bad=(),
    innocent=(),
    valve=20,
    fetch="",
    rules=DEFAULT_RULES,
    classifier="",
) -> Path:
    (directory / "innocent.txt").write_text("".join(f"{h}\n" for h in innocent))
    path = directory / "rules.yaml"
    probe = f'\nconcepts:\n  probe: {{prompts: ["{PROMPT}"], threshold: {tiny.threshold!r}}}'
    head = _policy_head(tiny.checkpoint, directory, known_bad, classifier, probe)
    path.write_text(f"""{head}
  innocent: {{kind: sha256, file: innocent.txt}}
fetch: {{allow_hosts: ["{_remote(lemmy)}"] {fetch}}}
lemmy: {{requests_per_minute: 6000, lookback: 6h, timeout: 10s}}
safety_valve: {{max_destructive_actions_per_hour: {valve}}}
exempt: {{moderators: true, hash_lists: [innocent]}}
rules:{rules}
""")
    return path


def write_sweep_rules(
    directory: Path,
    lemmy,
    checkpoint: Path,
    *,
    known_bad=(),
    poll_every="60s",
    sweep_cron="null",
    sweep_since="30d",
) -> Path:
    path = directory / "rules.yaml"
    path.write_text(f"""{_policy_head(checkpoint, directory, known_bad)}
fetch: {{allow_hosts: ["{_remote(lemmy)}"]}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
schedule: {{poll_every: {poll_every}, sweep_cron: {sweep_cron}, sweep_since: {sweep_since}}}
safety_valve: {{max_destructive_actions_per_hour: 1000}}
rules:
  - name: known abusive image
    priority: 100
    if: {{hash_list: known-bad}}
    then:
      remove: "Known abusive image"
      purge_image: true
      ban: {{scope: site, duration: permanent, remove_data: false, reason: "known abusive image"}}
  - name: could not check
    if: {{unreadable: true}}
    then: {{report: "could not check ({{{{unreadable}}}})"}}
""")
    return path


def write_removal_rules(
    directory: Path, lemmy, checkpoint: Path, *, known_bad=(), timeout="10s", poll_every="60s"
) -> Path:
    path = directory / "rules.yaml"
    path.write_text(f"""{_policy_head(checkpoint, directory, known_bad)}
fetch: {{allow_hosts: ["{_remote(lemmy)}"]}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: {timeout}}}
schedule: {{poll_every: {poll_every}, sweep_cron: null, sweep_since: 30d}}
rules:
  - name: known abusive image
    if: {{hash_list: known-bad}}
    then:
      remove: "Known abusive image"
      purge_image: true
""")
    return path


def bad_image(i: int) -> bytes:
    return hostile.jpeg(color=(10 + 7 * i % 240, 30, 200))


def backlog(lemmy, photos, *, posts: int, days_old: int = 3) -> dict:
    """Old posts (older than the poll lookback) with images; every 10th one a local
    upload of a known-bad image (each a different file, so that purging one through
    pict-rs leaves the others), each 5th with a comment holding a markdown image."""
    cast = lemmy.cast
    names = [n for n in photos if n != BAD]
    urls = {n: lemmy.add_remote_file(f"{n}.jpg", photos[n]) for n in photos}
    made = {"posts": [], "comments": [], "bad_posts": [], "bad_hashes": []}
    start = now() - timedelta(days=days_old)
    for i in range(posts):
        bad = i % 10 == 0
        author = cast.alice if i % 20 == 0 else cast.bob
        if bad:
            data = bad_image(i)
            made["bad_hashes"].append(sha(data))
            url = lemmy.add_upload(cast.alice, data, published=start).url
        else:
            url = urls[names[i % len(names)]]
        post = lemmy.add_post(
            cast.pics, author, name=f"post {i}", url=url, published=start + timedelta(minutes=i)
        )
        made["posts"].append(post.id)
        if bad:
            made["bad_posts"].append(post.id)
        if i % 5 == 1:
            comment = lemmy.add_comment(
                post,
                cast.alice,
                content=f"![look]({urls[names[(i + 1) % len(names)]]})",
                published=start + timedelta(minutes=i, seconds=30),
            )
            made["comments"].append(comment.id)
    return made
