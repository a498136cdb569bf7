"""Lemmy 1.0 refuses every private message an account with private messages turned off
sends (400 ``couldnt_create``): a bot account with them off never told the admins
anything. A live run turns them on, as it fixes the settings that hide content; a dry run
changes nothing and says so."""

from __future__ import annotations

import pytest
from support.bot import Bot, remote_photo, sha
from support.policies import BAD, write_rules

NOTIFY = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      notify_admins: "known abusive image"
"""


def _bot(lemmy, photos, tiny, tmp_path) -> Bot:
    lemmy.add_person(
        "automod",
        admin=True,
        bot_account=True,
        password="pw",
        show_nsfw=True,
        private_messages_enabled=False,
    )
    lemmy.add_post(
        lemmy.cast.pics, lemmy.cast.alice, name="bad", url=remote_photo(lemmy, photos, BAD)
    )
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=NOTIFY)
    return Bot(lemmy, tmp_path, rules, username="automod")


@pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)
def test_a_live_run_turns_the_bot_accounts_private_messages_on_and_tells_the_admins(
    fake_lemmy, photos, tiny, tmp_path
):
    lemmy = fake_lemmy
    run = _bot(lemmy, photos, tiny, tmp_path)("run", "--once")
    (change,) = [r for r in lemmy.requests if r.path == "/api/v4/account/settings/save"]
    assert change.json == {"private_messages_enabled": True}
    assert "private_messages_enabled" in run.stderr
    assert lemmy.cast.admin.id in {m.recipient_id for m in lemmy.private_messages}
    assert "couldnt_create" not in run.stderr


@pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)
def test_a_dry_run_says_the_bot_accounts_private_messages_are_off_and_changes_nothing(
    fake_lemmy, photos, tiny, tmp_path
):
    lemmy = fake_lemmy
    bot = _bot(lemmy, photos, tiny, tmp_path)
    lemmy.clear_requests()
    run = bot("run", "--once", "--dry-run")
    assert lemmy.mutating_requests() == []
    assert "private messages turned off (private_messages_enabled)" in run.stderr
    assert "couldnt_create" in run.stderr and "without --dry-run turns them on" in run.stderr


def test_lemmy_0_19_has_no_such_setting_and_nothing_is_said(fake_lemmy, photos, tiny, tmp_path):
    lemmy = fake_lemmy
    lemmy.add_person("automod", admin=True, bot_account=True, password="pw", show_nsfw=True)
    rules = write_rules(tmp_path, lemmy, tiny, rules=NOTIFY)
    run = Bot(lemmy, tmp_path, rules, username="automod")("run", "--once")
    assert "private_messages_enabled" not in run.stderr
    assert not [r for r in lemmy.requests if r.path == "/api/v3/user/save_user_settings"]
