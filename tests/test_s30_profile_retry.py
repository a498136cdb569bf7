"""A person's profile image whose action failed for a passing reason is looked at again
next cycle, by the person's id. Before, it was left unmarked "seen" and waited for the
person to post or comment again: one who never did kept the known-bad avatar, unbanned.
"""

from __future__ import annotations

import pytest
from test_profile_images import profile_decisions, scene  # noqa: F401 (a fixture)


def _ban_path(lemmy) -> str:
    return "/api/v4/admin/ban" if lemmy.v4 is not None else "/api/v3/user/ban"


@pytest.mark.both_lemmys
def test_a_failed_ban_for_an_avatar_is_tried_again_next_cycle(scene):  # noqa: F811
    lemmy, cast, bot, _avatar = scene
    lemmy.fail_next(_ban_path(lemmy), times=6, status=502)
    bot("run", "--once")
    [first] = profile_decisions(bot)
    assert {a["action"]: a["status"] for a in first["actions"]}["ban"] == "failed"
    assert not lemmy.person(cast.alice.id).banned
    # Lemmy is back (a request and its 5 retries used the faults); alice posts nothing more
    bot("run", "--once")
    assert lemmy.person(cast.alice.id).banned
    again = profile_decisions(bot)
    assert len(again) == 2
    assert {a["action"]: a["status"] for a in again[1]["actions"]}["ban"] == "done"
    # and once done, it is not looked at a third time
    bot("run", "--once")
    assert len(profile_decisions(bot)) == 2


def test_a_person_gone_since_is_dropped_from_the_retry_list(scene):  # noqa: F811
    lemmy, _cast, bot, _avatar = scene
    lemmy.fail_next("/api/v3/user/ban", times=6, status=502)
    bot("run", "--once")
    lemmy.fail_next("/api/v3/user", times=1, status=400, error="couldnt_find_person")
    run = bot("run", "--once")
    assert "dropped" in run.stderr
    lemmy.clear_requests()
    bot("run", "--once")
    assert not [r for r in lemmy.requests if r.path == "/api/v3/user"], "not asked again"


def test_a_post_whose_ban_failed_after_its_image_was_purged_is_banned_next_cycle(
    fake_lemmy, tmp_path, tiny_checkpoint
):
    from support.bot import Bot
    from test_profile_images import jpeg, sha

    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = jpeg(3)
    upload = lemmy.add_upload(cast.alice, bad)
    lemmy.add_post(cast.pics, cast.alice, name="bad", url=upload.url)
    (tmp_path / "bad.txt").write_text(f"{sha(bad)}\n")
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {tiny_checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
hash_lists:
  known-bad: {{kind: sha256, file: bad.txt}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
schedule: {{poll_every: 60s, sweep_cron: null, sweep_since: 30d}}
rules:
  - name: known bad
    if: {{hash_list: known-bad}}
    then:
      remove: "known bad"
      purge_image: true
      ban: {{scope: site, duration: permanent, reason: "known bad"}}
""")
    bot = Bot(lemmy, tmp_path, rules)
    lemmy.fail_next("/api/v3/user/ban", times=6, status=502)
    bot("run", "--once")
    assert not lemmy.person(cast.alice.id).banned
    run = bot("run", "--once")
    posts = [d for d in bot.decisions() if d["item"]["kind"] == "post"]
    assert run.returncode == 0
    assert lemmy.person(cast.alice.id).banned
    # decided again on the file's recorded hashes (no download: it is gone), the ban
    # sent; the removal and the purge, done before, not repeated
    assert posts[-1]["image"]["sha256"] == sha(bad) and posts[-1]["rule"] == "known bad"
    sent = [r.path for r in lemmy.mutating_requests() if r.status == 200]
    assert sent.count("/api/v3/post/remove") == 1
    assert sent.count("/api/v3/user/ban") == 1
