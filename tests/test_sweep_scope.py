"""`modbot sweep --local / --federated` (and with --store) limit what a sweep decides, and
rules' `scope:` holds for profile images too; through `python -m modbot` against the fake
Lemmy + pict-rs."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import httpx
import pytest
from PIL import Image
from support.bot import Bot


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (28 + seed, 28), (seed * 17 % 256, 60, 120)).save(out, "JPEG")
    return out.getvalue()


def rules(directory: Path, lemmy, checkpoint: Path, known_bad, extra: str = "") -> Path:
    (directory / "known-bad.txt").write_text("".join(f"{h}\n" for h in known_bad))
    remote = lemmy.remote_url.split("//", 1)[1]
    path = directory / "rules.yaml"
    path.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
hash_lists:
  known-bad: {{kind: sha256, file: known-bad.txt}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
fetch: {{allow_hosts: ["{remote}"]}}
schedule: {{poll_every: 60s, sweep_cron: null, sweep_since: 30d}}
safety_valve: {{max_destructive_actions_per_hour: 1000}}
rules:
{extra}
  - name: known bad
    if: {{hash_list: known-bad}}
    then: {{notify_admins: "known bad {{{{type}}}}"}}
""")
    return path


def decided(bot: Bot) -> set[tuple[str, object]]:
    return {(d["item"]["kind"], d["item"]["id"]) for d in bot.decisions()}


@pytest.fixture
def scene(fake_lemmy, tmp_path, tiny_checkpoint):
    """alice (local) posts a local upload; bob (remote.example) posts a remote image and
    has a remote avatar; every image is known-bad."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    images = {name: jpeg(i) for i, name in enumerate(["alice", "bob", "bob-avatar"])}
    upload = lemmy.add_upload(cast.alice, images["alice"])
    local = lemmy.add_post(cast.pics, cast.alice, name="local", url=upload.url)
    remote_url = lemmy.add_remote_file("bob.jpg", images["bob"])
    federated = lemmy.add_post(cast.pics, cast.bob, name="federated", url=remote_url, local=False)
    lemmy.set_images(cast.bob, avatar=lemmy.add_remote_file("bob-avatar.jpg", images["bob-avatar"]))
    known = [sha(b) for b in images.values()]
    return lemmy, cast, tmp_path, tiny_checkpoint, known, local, federated, upload


def test_sweep_local_then_federated(scene):
    lemmy, cast, directory, checkpoint, known, local, federated, upload = scene
    bot = Bot(lemmy, directory, rules(directory, lemmy, checkpoint, known))
    out = bot("sweep", "--all", "--local", "--dry-run")
    assert ("post", local.id) in decided(bot)
    assert ("upload", upload.alias) in decided(bot)
    assert ("post", federated.id) not in decided(bot)
    assert ("avatar", cast.bob.id) not in decided(bot)  # bob is remote
    assert "sweep" in out.stdout
    bot("sweep", "--all", "--federated", "--dry-run")
    assert ("post", federated.id) in decided(bot) and ("avatar", cast.bob.id) in decided(bot)
    # what the local sweep decided is not decided again
    assert (
        sum(d["item"]["kind"] == "post" and d["item"]["id"] == local.id for d in bot.decisions())
        == 1
    )


def test_local_and_federated_together_is_a_usage_error(scene):
    lemmy, _cast, directory, checkpoint, known, *_ = scene
    bot = Bot(lemmy, directory, rules(directory, lemmy, checkpoint, known))
    done = bot("sweep", "--all", "--local", "--federated", rc=2)
    assert "not allowed with argument" in done.stderr


def test_rule_scope_holds_for_avatars(scene):
    lemmy, cast, directory, checkpoint, known, *_ = scene
    alice_bad = jpeg(9)
    lemmy.set_images(cast.alice, avatar=lemmy.add_upload(cast.alice, alice_bad).url)
    extra = """  - name: local avatars only
    priority: 10
    if: {type: avatar, scope: local, hash_list: known-bad}
    then: {ban: {scope: site, duration: 1d}}
"""
    path = rules(directory, lemmy, checkpoint, [*known, sha(alice_bad)], extra)
    bot = Bot(lemmy, directory, path)
    bot("sweep", "--all", "--dry-run")
    avatars = {d["item"]["id"]: d for d in bot.decisions() if d["item"]["kind"] == "avatar"}
    assert avatars[cast.alice.id]["rule"] == "local avatars only"
    assert avatars[cast.bob.id]["rule"] == "known bad"  # remote: the scoped rule held not


def test_store_sweep_local_and_federated(scene):
    lemmy, _cast, directory, checkpoint, known, _local, _federated, upload = scene
    cached = lemmy.add_remote_file("cached.jpg", jpeg(7))
    assert httpx.get(lemmy.proxy_url(cached)).status_code == 200  # pict-rs caches it
    bot = Bot(lemmy, directory, rules(directory, lemmy, checkpoint, known))
    out = bot("sweep", "--store", "--local", "--dry-run", "--files-per-second", "0")
    files = [d for d in bot.decisions() if d["item"]["kind"] == "file"]
    assert [d["image"]["alias"] for d in files] == [upload.alias]  # alice's upload only
    assert "stored files walked" in out.stdout
    bot("sweep", "--store", "--federated", "--dry-run", "--files-per-second", "0")
    files = [d for d in bot.decisions() if d["item"]["kind"] == "file"]
    assert len(files) == 2 and files[0]["image"]["alias"] == upload.alias
    assert files[1]["image"]["sha256"] == sha(jpeg(7))
