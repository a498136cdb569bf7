"""`purge_item` purges a post, and Lemmy purges its link and thumbnail from pict-rs with
it (the whole file). b0e990f spared an `exempt.users` uploader's file when it was the
image the rule matched; review R3 found the same post's *other* file (its link, the
matched image being in its body) purged all the same: alice's upload, alice exempt.
Each file the post takes along is checked: the purge is skipped, saying whose upload."""

from __future__ import annotations

from support.bot import Bot
from support.policies import _remote
from test_s31z_exempt_uploader_file import rules
from test_store_sweep import gone, jpeg, sha


def test_purge_item_spares_an_exempt_users_upload_the_post_links(
    fake_lemmy, tmp_path, tiny_checkpoint
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    harmless, bad = jpeg(3), jpeg(5)
    upload = lemmy.add_upload(cast.alice, harmless)  # alice's, exempt
    bad_url = lemmy.add_remote_file("bad.jpg", bad)
    post = lemmy.add_post(
        cast.pics, cast.bob, name="look", url=upload.url, body=f"and ![this]({bad_url})"
    )
    path = rules(tmp_path, lemmy, tiny_checkpoint, [sha(bad)], "purge_item: true")
    # the fake's remote host is on this machine's address: allowed, as other tests do
    path.write_text(path.read_text() + f'fetch: {{allow_hosts: ["{_remote(lemmy)}"]}}\n')
    bot = Bot(lemmy, tmp_path, path)
    bot("run", "--once")
    assert not gone(lemmy, upload.alias), "alice's upload kept"
    assert lemmy.post(post.id) is not None  # not purged
    decisions = [d for d in bot.decisions() if d["item"]["kind"] == "post" and d["rule"]]
    (decision,) = decisions
    outcomes = {a["action"]: a for a in decision["actions"]}
    assert outcomes["purge_item"]["status"] == "skipped", outcomes
    detail = outcomes["purge_item"]["detail"]
    assert f"it is the upload {upload.alias}" in detail and "alice" in detail, detail
    assert lemmy.person(cast.bob.id).banned  # the rule's other action, as it says
