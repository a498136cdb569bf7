"""`modbot sweep --store` never acts on an admin's file, even one no listing links to an
admin: the site's icon, an admin's avatar nobody recorded an uploader for, and a file an
admin uploaded under an alias that is not the file's first (pict-rs keeps one file for
identical bytes; purging it by any alias purges every alias)."""

from __future__ import annotations

import json

from support.bot import Bot
from test_store_sweep import acts, file_decisions, gone, jpeg, sha, store_rules

ADMINS = "exempt: the author is an admin"


def test_store_sweep_spares_the_sites_and_admins_files(fake_lemmy, tmp_path, tiny_checkpoint):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = {name: jpeg(i) for i, name in enumerate(["icon", "avatar", "shared", "bobs"], 1)}
    icon = lemmy.add_thumbnail(bad["icon"])  # no uploader known (pre-0.19, or too old)
    lemmy.site.icon = icon.url
    avatar = lemmy.add_thumbnail(bad["avatar"])  # the admin never posted: no listing shows it
    lemmy.person(cast.admin.id).avatar = avatar.url
    hers = lemmy.add_upload(cast.alice, bad["shared"])  # the file's first alias
    admins = lemmy.add_upload(cast.admin, bad["shared"])  # the same bytes: its second
    bobs = lemmy.add_upload(cast.bob, bad["bobs"])  # the rule still acts on the others
    bot = Bot(
        lemmy, tmp_path, store_rules(tmp_path, lemmy, tiny_checkpoint, map(sha, bad.values()))
    )

    out = tmp_path / "store.json"
    bot("sweep", "--store", "--dry-run", "--files-per-second", "0", "--report", str(out))
    assert acts(lemmy) == []
    report = json.loads(out.read_text())
    assert report["summary"]["by_action"]["purge_image"] == {"planned": 1}  # bob's only
    assert report["summary"]["by_exempt"] == {"the author is an admin": 3}

    done = bot("sweep", "--store", "--files-per-second", "0")
    assert "done: 4 of 4 stored files walked" in done.stdout
    decided = {d["image"]["sha256"]: d for d in file_decisions(bot) if not d["dry_run"]}
    for name in ("icon", "avatar", "shared"):
        decision = decided[sha(bad[name])]
        assert decision["actions"] == [], (name, decision["actions"])
        assert decision["exempt"] == "the author is an admin"
        assert {m["outcome"] for m in decision["matched"]} == {ADMINS}
    assert decided[sha(bad["avatar"])]["item"]["author_id"] == cast.admin.id
    assert decided[sha(bad["shared"])]["item"]["author_id"] == cast.admin.id
    assert decided[sha(bad["icon"])]["item"]["author_is_admin"] is True

    for kept in (icon, avatar, hers, admins):
        assert not gone(lemmy, kept.alias)
    assert not lemmy.person(cast.alice.id).banned and not lemmy.person(cast.admin.id).banned
    assert gone(lemmy, bobs.alias) and lemmy.person(cast.bob.id).banned
    purges = [r for r in lemmy.requests if r.path == "/internal/purge"]
    assert len(purges) == 1
