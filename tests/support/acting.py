"""Helpers for the tests of acting under stress (several processes, kill -9): a fake
Lemmy without rate limits, known-bad posts by distinct spammers (each its own upload),
`python -m modbot` children, and counts of what the fake was asked to do."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from fakelemmy import FakeLemmy, hostile
from fakelemmy.scenarios import standard_cast
from modbot.store import Store

# Every action a rule can take on a post, so each is counted.
RULES = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      purge_image: true
      ban: {scope: site, duration: permanent, remove_data: false, reason: "known abusive"}
      report: "known abusive image"
      notify_admins: "known abusive image"
"""
# What a rule's actions send, by where the fake sees them and which key names the target.
ENDPOINTS = {
    "remove": ("lemmy", "/api/v3/post/remove", "post_id"),
    "ban": ("lemmy", "/api/v3/user/ban", "person_id"),
    "report": ("lemmy", "/api/v3/post/report", "post_id"),
    "purge_image": ("pictrs", "/internal/purge", "alias"),
}


def fake_lemmy() -> FakeLemmy:
    """Started, with the standard cast; no rate limits (many runs in a row)."""
    lemmy = FakeLemmy(rate_limit=None, login_rate_limit=None)
    lemmy.start()
    lemmy.cast = standard_cast(lemmy)
    return lemmy


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Scenario:
    """Known-bad posts on one fake, each by its own spammer with its own upload."""

    def __init__(
        self,
        lemmy: FakeLemmy,
        directory: Path,
        checkpoint: Path,
        *,
        rules: str = RULES,
        poll_every: str = "1s",
        valve: int = 1000,
        timeout: str = "10s",
    ) -> None:
        self.lemmy, self.directory = lemmy, directory
        self.state = directory / "state.sqlite3"
        self.known_bad: list[str] = []
        self.posts: list = []
        self.aliases: dict[int, str] = {}  # post id -> its upload's alias
        self.rules = directory / "rules.yaml"
        self._settings = f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
hash_lists:
  known-bad: {{kind: sha256, file: known-bad.txt}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: {timeout}}}
schedule: {{poll_every: {poll_every}, sweep_cron: null}}
safety_valve: {{max_destructive_actions_per_hour: {valve}}}
"""
        self.write_rules(rules)
        (directory / "known-bad.txt").write_text("")
        self.env = {
            **os.environ,
            "LEMMY_URL": lemmy.url,
            "LEMMY_USERNAME": "modbot",
            "LEMMY_PASSWORD": "pw",
            "MODBOT_STATE": str(self.state),
            "MODBOT_RULES": str(self.rules),
            "PICTRS_URL": lemmy.pictrs_url,
            "PICTRS_API_KEY": lemmy.pictrs_api_key,
        }

    def write_rules(self, rules: str) -> None:
        self.rules.write_text(self._settings + "rules:" + rules)

    @staticmethod
    def _image(i: int) -> bytes:
        return hostile.jpeg(color=(i % 256, 40 + 50 * (i // 256), 90))  # each its own file

    def list_bad(self, n: int) -> None:
        """Put the next ``n`` posts' images on the known-bad list now (a running bot reads
        the list when it starts)."""
        start = len(self.posts)
        wanted = [sha(self._image(i)) for i in range(start, start + n)]
        self.known_bad += [h for h in wanted if h not in self.known_bad]
        (self.directory / "known-bad.txt").write_text("".join(f"{h}\n" for h in self.known_bad))

    def add_bad_posts(self, n: int) -> list:
        cast, made = self.lemmy.cast, []
        self.list_bad(n)
        for _ in range(n):
            i = len(self.posts)
            spammer = self.lemmy.add_person(f"spammer{i}")
            upload = self.lemmy.add_upload(spammer, self._image(i))
            post = self.lemmy.add_post(cast.pics, spammer, name=f"bad {i}", url=upload.url)
            self.aliases[post.id] = upload.alias
            self.posts.append(post)
            made.append(post)
        return made

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "modbot", *args]

    def run(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(*args),
            env=self.env,
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str, **kwargs) -> subprocess.Popen:
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        return subprocess.Popen(
            self.command(*args), env=self.env, cwd=self.directory, text=True, **kwargs
        )

    def decisions(self) -> list[dict]:
        store = Store(self.state)
        try:
            return store.decisions()
        finally:
            store.close()

    # ------------------------------------------------------------------ what was sent
    def sent(self, action: str) -> Counter:
        """How many requests of ``action`` the fake received, by target."""
        server, path, key = ENDPOINTS[action]
        return Counter(
            (r.query if server == "pictrs" else r.json or {}).get(key)
            for r in self.lemmy.requests
            if r.server == server and r.path == path
        )

    def messages_about(self, post) -> int:
        """Private messages to the admin that mention ``post``."""
        return sum(
            f"/post/{post.id})" in m.content
            for m in self.lemmy.private_messages
            if m.recipient_id == self.lemmy.cast.admin.id
        )

    def expected(self, action: str) -> Counter:
        """Each post's target of ``action``, once."""
        return Counter(
            {
                "remove": p.id,
                "report": p.id,
                "ban": p.creator_id,
                "purge_image": self.aliases[p.id],
            }[action]
            for p in self.posts
        )
