"""An image host whose ETag (or Last-Modified) holds a byte that is not ASCII (a server
writing a Latin-1 name into it): the image was classified, then keeping its file in the
state failed (`UnicodeEncodeError`: SQLite takes no lone surrogate), so the cycle ended
with a traceback, nothing recorded, and the same post stopped every later cycle. Anyone
can serve an image so. Now such a validator is not kept (the next request for that link
is unconditional, as for a host that sends none) and the item is decided."""

from __future__ import annotations

from support.bot import Bot, sha
from support.policies import write_sweep_rules

from modbot.fetch import _validator


def test_an_image_served_with_an_odd_etag_is_decided(fake_lemmy, photos, tiny_checkpoint, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    odd = {"ETag": '"\u00e9t\u00e9"'}
    link = lemmy.add_remote_behaviour("odd.jpg", photos["chelsea"], headers=odd)
    post = lemmy.add_post(cast.pics, cast.bob, name="odd validator", url=link)
    bot = Bot(lemmy, tmp_path, write_sweep_rules(tmp_path, lemmy, tiny_checkpoint))
    done = bot("run", "--once")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    decided = [r for r in bot.decisions() if r["item"]["id"] == post.id]
    assert decided and decided[0]["image"]["sha256"] == sha(photos["chelsea"])


def test_an_odd_last_modified_is_not_kept_either():
    # the same reading keeps both validators (the bot test above: the ETag's path)
    assert _validator("Mon, 01 Jan 2024 00:00:00 GMT\udce9") is None
    assert _validator("Mon, 01 Jan 2024 00:00:00 GMT") == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert _validator('W/"abc"') == 'W/"abc"'
