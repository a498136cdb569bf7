"""A dry run changes nothing on the instance, on every path an action could take: every
action kind, uploads with delete tokens, a safety valve that would trip, settings that
hide content, a dropped login, rate limits and 5xx answers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.bot import Bot, remote_photo, sha
from support.policies import BAD, write_rules

from fakelemmy.state import now

EVERY_ACTION = """
  - name: known abusive image
    priority: 100
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      purge_image: true
      purge_item: true
      ban: {scope: community, duration: 3d, remove_data: true, reason: "known abusive image"}
      notify_admins: "known abusive image at {{permalink}}"
  - name: probe
    if: {labels: [probe]}
    then:
      report: "probe"
      notify_admins: "probe matched at {{permalink}}"
"""


@pytest.mark.slow
@pytest.mark.both_lemmys
def test_dry_run_sends_nothing_on_any_path(fake_lemmy, photos, tiny, tmp_path):
    """Every action kind, uploads with delete tokens, a safety valve that would trip,
    settings that hide content, a dropped login, rate limits and 5xx answers: through
    `run --once --dry-run`, `sweep --dry-run` and `report`, with and without PICTRS_*."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    lemmy.add_upload(cast.alice, photos[BAD])  # never posted
    for i in range(3):
        up = lemmy.add_upload(cast.alice, photos[BAD])
        post = lemmy.add_post(cast.nsfw, cast.alice, name=f"bad {i}", url=up.url)
        lemmy.add_comment(post, cast.bob, content=f"![x]({remote_photo(lemmy, photos, BAD)})")
    lemmy.add_post(
        cast.pics,
        cast.bob,
        name="old",
        url=remote_photo(lemmy, photos, tiny.flagged),
        published=now() - timedelta(days=2),
    )
    lemmy.add_post(cast.pics, cast.bob, name="probe", url=remote_photo(lemmy, photos, tiny.flagged))
    rules = write_rules(
        tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], valve=2, rules=EVERY_ACTION
    )
    for pictrs in (True, False):
        state = tmp_path / f"pictrs-{pictrs}"
        state.mkdir()
        bot = Bot(lemmy, state, rules, pictrs=pictrs)
        lemmy.invalidate_tokens("modbot")
        lemmy.fail_next(lemmy.api_path("/api/v3/post/list"), times=1, status=502)
        lemmy.fail_next(lemmy.api_path("/api/v3/comment/list"), times=1)  # rate limited
        bot("run", "--once", "--dry-run")
        bot("sweep", "--dry-run", "--since", "7d")
        bot("report", "--since", "7d", "--out", str(state / "report.json"))
        assert lemmy.mutating_requests() == []
        statuses = {a["status"] for r in bot.decisions() for a in r["actions"]}
        # not_possible: a purge_image modbot could not do here (nothing is sent either)
        assert statuses <= {"planned", "skipped", "not_possible"} and "planned" in statuses
        actions = {a["action"] for r in bot.decisions() for a in r["actions"]}
        assert {"remove", "purge_image", "purge_item", "ban", "notify_admins", "report"} <= actions
        assert any(
            "safety valve would trip" in a["detail"] for r in bot.decisions() for a in r["actions"]
        )
