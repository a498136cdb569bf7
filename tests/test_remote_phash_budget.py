"""The bot on a classifier that decodes elsewhere (``classifier.remote``): its own
decode for a perceptual hash holds its memory in ``classifier.decode_memory``, as a
local classifier's does, and the gate's (``Gate.hash_budget``)."""

from __future__ import annotations

from support.policies import _policy_head, _remote
from test_gate_decide import png

import modbot.rules
from modbot.classify import build_engine
from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.pipeline import Pipeline

RULES = """
  look-alikes: {{kind: phash, file: phash.txt}}
fetch: {{allow_hosts: ["{remote}"]}}
lemmy: {{requests_per_minute: 6000, lookback: 6h, timeout: 10s}}
rules:
  - name: look-alike
    if: {{hash_list: look-alikes}}
    then: {{report: "looks like a listed image"}}
"""


class ElsewhereEngine:
    """A classifier that decodes in another process, as RemoteEngine: the verdicts of a
    local one, and no decode budget on this side."""

    def __init__(self, inner):
        self._inner = inner
        self.concept_version = inner.concept_version
        self.random_weights = inner.random_weights

    async def ready(self):
        return await self._inner.ready()

    async def classify(self, data):
        return await self._inner.classify(data)

    def close(self):
        self._inner.close()


def test_a_remote_classifiers_bot_hashes_within_the_decode_budget(fake_lemmy, tiny, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    small, large = png(200, 200, 10), png(6000, 6000, 20)  # 36 MP: ~108 MB of RGB
    (tmp_path / "phash.txt").write_text(
        "".join(f"{modbot.rules.hashes_of(b, ['phash'])['phash']}\n" for b in (small, large))
    )

    def policy(memory: str):
        head = _policy_head(tiny.checkpoint, tmp_path, (), f", decode_memory: {memory}")
        path = tmp_path / f"rules-{memory}.yaml"
        path.write_text(head + RULES.format(remote=_remote(lemmy)))
        return load_policy(path)

    # the worker's own budget lets it read both; the bot's is 50 MB
    engine = ElsewhereEngine(build_engine(policy("2GB")))
    settings = Settings(
        lemmy.url,
        "modbot",
        Secret("pw"),
        lemmy.pictrs_url,
        Secret(lemmy.pictrs_api_key),
        tmp_path / "state.sqlite3",
    )
    posts = {}
    for name, data in (("small", small), ("large", large)):
        upload = lemmy.add_upload(cast.bob, data)
        posts[lemmy.add_post(cast.pics, cast.bob, name=name, url=upload.url).id] = name
    pipeline = Pipeline(settings, policy("50MB"), dry_run=True, engine=engine)
    try:
        pipeline.poll_once()
        decisions = pipeline.store.decisions()
        by_name = {posts[d["item"]["id"]]: d for d in decisions if d["item"]["kind"] == "post"}
    finally:
        pipeline.close()
        engine.close()
    assert by_name["small"]["rule"] == "look-alike"
    assert "phash" in by_name["small"]["image"]["hashes"]
    # too costly to decode within 50 MB: no perceptual hash, as a local classifier's bot
    assert "phash" not in by_name["large"]["image"]["hashes"]
    assert by_name["large"]["rule"] is None
