"""A posted link into pict-rs' own port (PICTRS_URL) is never fetched by the image
fetcher. Before, PICTRS_URL's host and port were trusted like the instance's: a link to
`http://pictrs:8080/image/download?url=https://attacker/x.png` was fetched, and pict-rs
(which asks no key for it) downloaded and stored the attacker's file: a change on the
instance, in a dry run too. Images are read through the instance (LEMMY_URL), so pict-rs
need not be trusted by the fetcher."""

from __future__ import annotations

from support.bot import Bot
from test_allowed_hosts import records_by_post, write_rules


def test_a_link_into_pictrs_is_refused_as_private_and_never_sent(
    fake_lemmy, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    link = f"{lemmy.pictrs_url}/image/download?url=https%3A%2F%2Fattacker.example%2Fx.png"
    post = lemmy.add_post(cast.pics, cast.bob, name="look", body=f"![x]({link})")
    bot = Bot(lemmy, tmp_path, write_rules(tmp_path, tiny_checkpoint, []), strict=True)
    bot.env["PICTRS_URL"] = lemmy.pictrs_url
    bot.env["PICTRS_API_KEY"] = lemmy.pictrs_api_key
    bot("run", "--once", "--dry-run")
    record = records_by_post(bot)[post.id]
    assert record["skipped"] == "private_address", record
    assert [r.path for r in lemmy.requests if r.path.startswith("/image/download")] == []
