"""A long text's images are handed out ``MAX_TEXT_IMAGES`` at a time: one that is never
marked seen (its action keeps failing for a passing reason, or a report, which marks
nothing seen, reads the text again) must not keep the images after it from their turn."""

from __future__ import annotations

from modbot.model import Community, Item, Person, SiteInfo
from modbot.source import MAX_TEXT_IMAGES, Source
from modbot.store import Store


class _Quiet:
    def site_info(self) -> SiteInfo:
        return SiteInfo()


BIO = "".join(f"![{n}](https://img.example/{n}.png)\n" for n in range(50))
CAROL = Person(7, name="carol", actor_id="https://lemmy.example/u/carol", bio=BIO)
POST = Item("post", 1, None, "t", author=CAROL, community=Community(3))
EVERY = [f"https://img.example/{n}.png" for n in range(50)]


def _source(tmp_path, **kw) -> Source:
    return Source(_Quiet(), Store(tmp_path / "state.sqlite3"), scope="t", warn=[].append, **kw)  # type: ignore[arg-type]


def test_images_never_marked_seen_do_not_starve_the_ones_after_them(tmp_path):
    source = _source(tmp_path)
    handed: list[str] = []
    for _read in range(6):
        fresh = source._profiles([POST], set())
        assert 0 < len(fresh) <= MAX_TEXT_IMAGES
        for item in fresh:
            if item.link not in EVERY[:MAX_TEXT_IMAGES]:  # the first twenty keep failing
                source.mark_seen(item)
        handed += [i.link for i in fresh if i.link]
    assert set(handed) == set(EVERY)


def test_a_walk_that_marks_nothing_seen_gets_to_every_image_in_turn(tmp_path):
    source = _source(tmp_path, remember_seen=False)
    handed: list[str] = []
    for _walk in range(3):
        handed += [i.link for i in source._profiles([POST], set()) if i.link]
    assert handed[:50] == EVERY  # in turn, from where the read before stopped
    assert handed[50:] == EVERY[:10]
