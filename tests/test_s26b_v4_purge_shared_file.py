"""Lemmy 1.0 without pict-rs' API key: `purge_image` must not purge a file through Lemmy's
`DELETE /api/v4/image`, which purges every alias of the file (pict-rs keeps one file for
identical bytes) and which cannot say first which other uploads share it. Through pict-rs
modbot asks (`/internal/aliases`) and spares an admin's upload or one it does not know;
through Lemmy it cannot ask, so the purge is recorded `not_possible`, with why, and
nothing is sent."""

from __future__ import annotations

import hashlib

import pytest
from support.bot import Bot
from support.removal import outcomes, rules

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret
from modbot.errors import LemmyError
from modbot.lemmy.v4 import LemmyClientV4


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_an_admins_upload_of_the_same_bytes_survives_purge_image_on_1_0_without_pictrs(
    photos, tmp_path, tiny_checkpoint
):
    with FakeLemmy(version="1.0", image_rate_limit=None) as lemmy:
        cast = standard_cast(lemmy)
        # the same bytes twice: one file in pict-rs under two aliases
        shown = lemmy.add_upload(cast.alice, photos["coffee"])
        admins = lemmy.add_upload(cast.admin, photos["coffee"])
        post = lemmy.add_post(cast.pics, cast.alice, name="look", url=shown.url)
        path = rules(
            tmp_path,
            lemmy,
            tiny_checkpoint,
            [sha(photos["coffee"])],
            "{remove: bad, purge_image: true}",
            "post",
        )
        bot = Bot(lemmy, tmp_path, path, pictrs=False)
        bot("run", "--once")

        assert lemmy.image_exists(admins.alias), "the admin's upload was purged with it"
        assert lemmy.image_exists(shown.alias)
        sent = [(r.method, r.path) for r in lemmy.mutating_requests()]
        assert ("DELETE", "/api/v4/image") not in sent
        assert ("POST", "/api/v4/post/remove") in sent, "the rule's other action is done"
        done = outcomes(bot, "post", post.id)
        assert done["remove"]["status"] == "done"
        assert done["purge_image"]["status"] == "not_possible", done["purge_image"]
        assert done["purge_image"]["detail"].startswith("needs pict-rs access")
        assert lemmy.post(post.id).removed


def test_the_1_0_client_without_pictrs_cannot_purge_a_file_and_sends_nothing(photos):
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        upload = lemmy.add_upload(cast.alice, photos["coffee"])
        client = LemmyClientV4(lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0)
        assert client.can_purge_files is False
        lemmy.clear_requests()
        with pytest.raises(LemmyError, match="PICTRS_URL and PICTRS_API_KEY"):
            client.purge_file(upload.alias)
        assert lemmy.requests == [] and lemmy.image_exists(upload.alias)
