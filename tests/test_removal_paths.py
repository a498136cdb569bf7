"""The right removal for each image, taken when it is the best available and recorded as
such (`modbot run --once` against the fake Lemmy + pict-rs): a local alias purged by
alias, a remote image pict-rs cached for Lemmy's image proxy purged by its URL together
with the item, `delete_image` removing one alias only, and what cannot be done recorded
`not_possible` with why."""

from __future__ import annotations

import hashlib

import httpx
from support.bot import Bot
from support.removal import outcomes, rules


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def acts(lemmy) -> list:
    return [r for r in lemmy.mutating_requests() if r.path != "/api/v3/user/save_user_settings"]


def test_a_cached_remote_image_is_purged_by_its_proxy_url_with_the_post(
    fake_lemmy,
    photos,
    tmp_path,
    tiny_checkpoint,
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    remote = lemmy.add_remote_file("bad.jpg", photos["coffee"])
    proxied = lemmy.proxy_url(remote)
    assert httpx.get(proxied).status_code == 200  # a viewer: pict-rs now holds a copy
    post = lemmy.add_post(cast.pics, cast.bob, name="look", body=f"![x]({proxied})")
    path = rules(
        tmp_path,
        lemmy,
        tiny_checkpoint,
        [sha(photos["coffee"])],
        "{remove: bad, purge_image: true}",
    )
    Bot(lemmy, tmp_path, path)("run", "--once")
    done = outcomes(Bot(lemmy, tmp_path, path), "post", post.id)
    assert done["purge_image"]["status"] == "done"
    assert done["purge_image"]["detail"] == (
        f"purge pict-rs' cached copy of remote image {remote} (proxy; every alias of it)"
    )
    assert done["remove"]["status"] == "done" and lemmy.post(post.id).removed
    (purge,) = [r for r in lemmy.requests if r.path == "/internal/purge"]
    assert purge.query == {"proxy": remote}
    assert lemmy.state.alias_of_proxy(remote) is None  # the cached copy is gone


def test_without_pictrs_access_a_cached_remote_image_is_not_possible_and_says_why(
    fake_lemmy,
    photos,
    tmp_path,
    tiny_checkpoint,
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    remote = lemmy.add_remote_file("bad.jpg", photos["coffee"])
    proxied = lemmy.proxy_url(remote)
    httpx.get(proxied)
    post = lemmy.add_post(cast.pics, cast.bob, name="look", body=f"![x]({proxied})")
    path = rules(
        tmp_path,
        lemmy,
        tiny_checkpoint,
        [sha(photos["coffee"])],
        "{remove: bad, purge_image: true}",
    )
    bot = Bot(lemmy, tmp_path, path)
    del bot.env["PICTRS_URL"], bot.env["PICTRS_API_KEY"]
    bot("run", "--once")
    done = outcomes(bot, "post", post.id)
    assert done["purge_image"]["status"] == "not_possible"
    assert done["purge_image"]["detail"].startswith("needs pict-rs access")
    assert lemmy.post(post.id).removed and lemmy.state.alias_of_proxy(remote) is not None
    assert not [r for r in lemmy.requests if r.server == "pictrs"]


def test_delete_image_removes_one_alias_and_the_file_stays_for_the_other(
    fake_lemmy,
    photos,
    tmp_path,
    tiny_checkpoint,
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    shown = lemmy.add_upload(cast.alice, photos["coffee"])
    other = lemmy.add_upload(cast.mod, photos["coffee"])  # same bytes, another alias
    post = lemmy.add_post(cast.pics, cast.alice, name="meme", url=shown.url)
    # posts only: the uploads (listed too) are not for this rule
    path = rules(
        tmp_path, lemmy, tiny_checkpoint, [sha(photos["coffee"])], "{delete_image: true}", "post"
    )
    bot = Bot(lemmy, tmp_path, path)
    bot("run", "--once")
    done = outcomes(bot, "post", post.id)
    assert done["delete_image"] == {
        "action": "delete_image",
        "status": "done",
        "detail": f"delete alias {shown.alias} from pict-rs (this alias only)",
        "done_at": done["delete_image"]["done_at"],
    }
    assert not lemmy.image_exists(shown.alias) and lemmy.image_exists(other.alias)
    assert [(r.path, r.query) for r in acts(lemmy)] == [
        ("/internal/delete", {"alias": shown.alias})
    ]
    assert not lemmy.post(post.id).removed  # the rule says delete the image, no more


def test_delete_image_without_pictrs_or_token_is_not_possible_and_dry_run_sends_nothing(
    fake_lemmy,
    photos,
    tmp_path,
    tiny_checkpoint,
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    shown = lemmy.add_upload(cast.alice, photos["coffee"])
    post = lemmy.add_post(cast.pics, cast.alice, name="meme", url=shown.url)
    path = rules(
        tmp_path, lemmy, tiny_checkpoint, [sha(photos["coffee"])], "{delete_image: true}", "post"
    )
    bot = Bot(lemmy, tmp_path, path)
    bot("run", "--once", "--dry-run")
    assert acts(lemmy) == []
    assert outcomes(bot, "post", post.id)["delete_image"]["status"] == "planned"
    del bot.env["PICTRS_URL"], bot.env["PICTRS_API_KEY"]
    bot("run", "--once")
    (live,) = [d for d in bot.decisions() if d["item"]["id"] == post.id and not d["dry_run"]]
    (outcome,) = live["actions"]
    assert outcome["status"] == "not_possible"
    assert outcome["detail"].startswith("needs pict-rs access")
    assert lemmy.image_exists(shown.alias) and acts(lemmy) == []


def test_on_lemmy_1_0_without_pictrs_one_alias_is_not_possible_not_a_failure(
    photos, tmp_path, tiny_checkpoint
):
    """Lemmy 1.0 purges a whole file itself (admin `DELETE /image`), but deleting one
    alias or a proxied copy needs pict-rs' own API: without it the action is recorded
    not possible, with why (the admins are told), not tried and failed at every image."""
    from fakelemmy import FakeLemmy
    from fakelemmy.scenarios import standard_cast

    with FakeLemmy(version="1.0", image_rate_limit=None) as lemmy:
        cast = standard_cast(lemmy)
        shown = lemmy.add_upload(cast.alice, photos["coffee"])
        post = lemmy.add_post(cast.pics, cast.alice, name="meme", url=shown.url)
        path = rules(
            tmp_path,
            lemmy,
            tiny_checkpoint,
            [sha(photos["coffee"])],
            "{delete_image: true}",
            "post",
        )
        bot = Bot(lemmy, tmp_path, path, pictrs=False)
        bot("run", "--once")
        outcome = outcomes(bot, "post", post.id)["delete_image"]
        assert outcome["status"] == "not_possible", outcome
        assert outcome["detail"].startswith("needs pict-rs access")
        assert lemmy.image_exists(shown.alias)
