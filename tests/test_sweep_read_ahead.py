"""Reading the next page ahead keeps the sweep's promise: its position moves past a
page only once every item before it is recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fakelemmy.state import now


class Killed(Exception):
    """Stands for the process dying in the middle of a page."""


@pytest.mark.both_lemmys
def test_a_sweep_cut_off_while_deciding_a_page_resumes_at_that_page(
    fake_lemmy, photos, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    start = now() - timedelta(days=3)
    good = lemmy.add_remote_file("good.jpg", photos["chelsea"])
    posts = [
        lemmy.add_post(
            cast.pics, cast.bob, name=f"post {i}", url=good, published=start + timedelta(minutes=i)
        )
        for i in range(120)
    ]
    first = pipeline_for(lemmy, dry_run=True)
    finish, decided = first._finish, []

    def dies_after_ten(item, decisions, stats):
        if len(decided) == 10:  # the second page has been read (and launched) by now
            raise Killed
        decided.append(item.id)
        finish(item, decisions, stats)

    first._finish = dies_after_ten
    with pytest.raises(Killed):
        first.sweep(start - timedelta(days=1))
    assert first.source.sweep_in_progress()
    assert len({r["item"]["id"] for r in first.store.decisions(run_id=first.run_id)}) == 10

    second = pipeline_for(lemmy, dry_run=True)
    second.sweep(start - timedelta(days=1))
    again = [r["item"]["id"] for r in second.store.decisions(run_id=second.run_id)]
    assert set(decided) | set(again) == {p.id for p in posts}, "no post is skipped"
    assert len(again) == len(set(again)), "each post is decided once"
    assert not second.source.sweep_in_progress()


def test_the_sweep_progress_never_counts_a_total_below_what_it_walked(
    fake_lemmy, photos, pipeline_for
):
    """Lemmy's site counts are the instance's own posts and comments; the sweep walks
    federated ones and uploads too. A total from those counts read "150/128 items"."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    start = now() - timedelta(days=3)
    good = lemmy.add_remote_file("good.jpg", photos["chelsea"])
    for i in range(60):  # bob is on another instance: these posts are federated
        lemmy.add_post(
            cast.pics,
            cast.bob if i % 3 else cast.alice,
            name=f"post {i}",
            url=good,
            published=start + timedelta(minutes=i),
        )
    shown = []
    pipeline = pipeline_for(lemmy, dry_run=True)
    stats = pipeline.sweep(None, progress=lambda done, total: shown.append((done, total)))
    assert stats.items_seen >= 60
    assert shown and all(total is None or total >= done for done, total in shown)
