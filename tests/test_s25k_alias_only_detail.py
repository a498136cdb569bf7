"""When `purge_image` deletes only its own alias (the file has another alias whose
uploader Lemmy never listed to the bot: it could be an admin's), the record says what
happens to the file: it stays in pict-rs until the store sweep decides it. No listing
shows that other alias, so "each is acted on when seen" was a promise nothing kept."""

from __future__ import annotations

from support.bot import Bot, sha
from support.policies import BAD, write_rules

RULES = """
  - name: bad
    priority: 100
    if: {hash_list: known-bad}
    then:
      remove: "bad"
      purge_image: true
"""


def test_an_alias_only_delete_says_the_store_sweep_decides_the_file(
    fake_lemmy, photos, tiny, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    ghost = lemmy.add_upload(cast.bob, photos[BAD])
    ghost.listed = False  # bob deleted his account: Lemmy lists no row for it any more
    alices = lemmy.add_upload(cast.alice, photos[BAD])  # the same bytes: one file
    post = lemmy.add_post(cast.nsfw, cast.alice, name="q", url=alices.url)
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES)
    bot = Bot(lemmy, tmp_path, rules)
    bot("run", "--once")

    assert lemmy.post(post.id).removed and lemmy.image_exists(ghost.alias)
    (decision,) = [
        d for d in bot.decisions() if d["item"]["kind"] == "post" and d["item"]["id"] == post.id
    ]
    (purge,) = [a for a in decision["actions"] if a["action"] == "purge_image"]
    assert purge["status"] == "done"
    assert purge["detail"].startswith(f"delete alias {alices.alias} only: the same file has 1 ")
    assert purge["detail"].endswith(
        f"({ghost.alias}); the file stays in pict-rs until the store sweep decides it "
        "(schedule.store_sweep_cron, or `modbot sweep --store`)"
    ), purge["detail"]
    assert "when seen" not in purge["detail"]
