"""The fake Lemmy 0.19's post purge leaves the upload's `local_image` row, as Lemmy 0.19 does:
`purge_post` (crates/api/src/site/purge/post.rs) calls `purge_image_from_pictrs`
(crates/api_common/src/request.rs, 0.19.9 to 0.19.20), which asks pict-rs to purge the file
and deletes no row; only the uploader's delete route (`LocalImage::delete_by_alias`,
crates/routes/src/images.rs) does. So `list_all_media` still lists the upload, whose file
pict-rs no longer has.
"""

from __future__ import annotations

import httpx

from fakelemmy.scenarios import PASSWORD


def test_a_purged_post_upload_stays_in_the_media_list(fake_lemmy, photos):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    data = next(iter(photos.values()))
    up = lemmy.add_upload(cast.alice, data)
    post = lemmy.add_post(cast.pics, cast.alice, name="pic", url=up.url)
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    form = {"username_or_email": "modbot", "password": PASSWORD}
    c.headers["Authorization"] = f"Bearer {c.post('/api/v3/user/login', json=form).json()['jwt']}"
    r = c.post("/api/v3/admin/purge/post", json={"post_id": post.id, "reason": "x"})
    assert r.json() == {"success": True}
    assert not lemmy.image_exists(up.alias)  # pict-rs purged the file
    assert c.get(f"/pictrs/image/{up.alias}").status_code == 404
    media = c.get("/api/v3/admin/list_all_media", params={"limit": 50}).json()["images"]
    assert [m["local_image"]["pictrs_alias"] for m in media] == [up.alias]
    # and the uploader's own list (the same table) shows it too
    alice = httpx.Client(base_url=lemmy.url, timeout=10)
    form = {"username_or_email": "alice", "password": PASSWORD}
    alice.headers["Authorization"] = (
        f"Bearer {alice.post('/api/v3/user/login', json=form).json()['jwt']}"
    )
    own = alice.get("/api/v3/account/list_media").json()["images"]
    assert [m["local_image"]["pictrs_alias"] for m in own] == [up.alias]
