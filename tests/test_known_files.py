"""A file the bot knows is not downloaded again: a pict-rs alias never changes its
file; another link is asked again only conditionally (ETag / Last-Modified), and a file
changed behind a link is still caught."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.bot import Bot, sha
from support.policies import BAD, write_sweep_rules

from fakelemmy.state import now


def image_requests(lemmy, since: int = 0) -> list:
    return [
        r
        for r in lemmy.requests[since:]
        if r.server == "remote"
        or (r.server == "lemmy" and "/pictrs/image/" in r.path)
        or (r.server == "pictrs" and "/image/" in r.path)
    ]


def test_a_second_sweep_over_the_same_posts_downloads_nothing_it_knows(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    start = now() - timedelta(days=2)
    links = [
        lemmy.add_remote_file(f"p{i}.jpg", photos[n]) for i, n in enumerate(("chelsea", "coffee"))
    ]
    uploads = [lemmy.add_upload(cast.alice, photos[n]).url for n in ("astronaut", "china")]
    for i in range(12):
        lemmy.add_post(
            cast.pics,
            cast.bob,
            name=f"post {i}",
            url=(links + uploads)[i % 4],
            published=start + timedelta(minutes=i),
        )
    bot = Bot(lemmy, tmp_path, write_sweep_rules(tmp_path, lemmy, tiny_checkpoint))

    mark = len(lemmy.requests)
    first = bot("sweep", "--all", "--dry-run")
    assert first.returncode == 0, first.stderr
    assert len(image_requests(lemmy, mark)) >= 4  # each file downloaded at least once

    mark = len(lemmy.requests)
    second = bot("sweep", "--all")  # for real now, after the dry run: same posts again
    assert second.returncode == 0, second.stderr
    assert image_requests(lemmy, mark) == []
    assert "not downloaded: known files" in second.stdout + second.stderr
    decided = [r for r in bot.decisions() if r["item"]["kind"] == "post"]
    assert len(decided) == 24 and all(r["image"]["sha256"] for r in decided)


@pytest.mark.slow
def test_a_link_posted_again_is_asked_conditionally_and_a_changed_file_is_caught(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    link = lemmy.add_remote_file("meme.jpg", photos["chelsea"])
    rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint, known_bad=[sha(photos[BAD])])
    bot = Bot(lemmy, tmp_path, rules)
    first = lemmy.add_post(cast.pics, cast.bob, name="first", url=link)
    assert bot("run", "--once").returncode == 0

    # the same link in a new post, the file unchanged: a conditional request, no body
    mark = len(lemmy.requests)
    lemmy.add_post(cast.pics, cast.bob, name="again", url=link)
    assert bot("run", "--once").returncode == 0
    asked = image_requests(lemmy, mark)
    assert [r.status for r in asked] == [304]

    # the file behind the link changed: the next post showing it is caught
    lemmy.add_remote_file("meme.jpg", photos[BAD])
    mark = len(lemmy.requests)
    third = lemmy.add_post(cast.pics, cast.bob, name="swapped", url=link)
    assert bot("run", "--once").returncode == 0
    assert [r.status for r in image_requests(lemmy, mark)] == [200]
    assert lemmy.post(third.id).removed
    assert not lemmy.post(first.id).removed  # decided before the change; not re-walked
