"""A file the daemon could not purge whole stays in pict-rs until `modbot sweep --store`
decides it: pict-rs keeps one file for identical bytes, and when another alias of it has
an uploader Lemmy never lists to the bot (a deleted account's upload, an old one, a
thumbnail), `purge_image` deletes the alias at hand only. No listing ever shows that
other alias, so only the store sweep can finish the purge: it must, also when an
earlier store sweep walked the file already (decided then under other rules or lists)."""

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


def _internal(lemmy) -> list[tuple[str, str]]:
    return [
        (r.path, r.query.get("alias", ""))
        for r in lemmy.mutating_requests()
        if r.path.startswith("/internal/")
    ]


def test_a_file_the_daemon_left_is_purged_by_the_next_store_sweep(
    fake_lemmy, photos, tiny, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    ghost = lemmy.add_upload(cast.bob, photos[BAD])
    ghost.listed = False  # bob deleted his account: Lemmy lists no row for it any more
    bot = Bot(lemmy, tmp_path, write_rules(tmp_path, lemmy, tiny, rules=RULES))
    bot("sweep", "--store", "--files-per-second", "0")  # the file: on no list yet
    assert lemmy.image_exists(ghost.alias) and _internal(lemmy) == []

    # the hash list learns the file (a feed, an admin); then alice posts the same bytes
    (tmp_path / "known-bad.txt").write_text(f"{sha(photos[BAD])}\n")
    alices = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.nsfw, cast.alice, name="q", url=alices.url)
    bot("run", "--once")
    assert lemmy.post(post.id).removed
    # bob's alias has no uploader modbot knows (it could be an admin's): alice's only
    assert _internal(lemmy) == [("/internal/delete", alices.alias)]
    assert lemmy.image_exists(ghost.alias)

    lemmy.clear_requests()
    out = bot("sweep", "--store", "--files-per-second", "0")
    assert _internal(lemmy) == [("/internal/purge", ghost.alias)], out.stdout
    assert not lemmy.image_exists(ghost.alias)
    run_id = out.stdout.split()[2]  # "store sweep RUN (live) done: ..."
    (last,) = [d for d in bot.decisions() if d["run_id"] == run_id]
    assert last["rule"] == "bad" and last["image"]["alias"] == ghost.alias
    assert {a["action"]: a["status"] for a in last["actions"]} == {
        "purge_image": "done",
        "remove": "skipped",  # post 1 was removed by the daemon: not again
    }

    lemmy.clear_requests()  # the file is gone: the next store sweep has nothing to do
    again = bot("sweep", "--store", "--files-per-second", "0")
    assert lemmy.mutating_requests() == [] and "0 items" in again.stdout
