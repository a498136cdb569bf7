"""images.py: every image of a post, comment or upload, on lemmy-js-client 0.19.9 shapes.

The fixtures are validated against the JSON Schemas generated from lemmy-js-client
0.19.9 (tests/schemas), so a field name or shape we rely on cannot drift from Lemmy's.
"""

import json
from pathlib import Path

import jsonschema
import pytest
from support.lemmy_json import image_refs, site_emoji_urls, upload_ref

from modbot.images import ImageRef, looks_like_image, pictrs_alias, remote_video, unwrap_proxy

INSTANCE = "https://lemmy.example"
SCHEMAS = Path(__file__).parent / "schemas"

PERSON = {
    "id": 7,
    "name": "someone",
    "banned": False,
    "published": "2026-01-01T00:00:00Z",
    "actor_id": "https://lemmy.example/u/someone",
    "local": True,
    "deleted": False,
    "bot_account": False,
    "instance_id": 1,
}
COMMUNITY = {
    "id": 3,
    "name": "pics",
    "title": "Pics",
    "removed": False,
    "published": "2026-01-01T00:00:00Z",
    "deleted": False,
    "nsfw": False,
    "actor_id": "https://lemmy.example/c/pics",
    "local": True,
    "hidden": False,
    "posting_restricted_to_mods": False,
    "instance_id": 1,
    "visibility": "Public",
}


def make_post(**fields):
    post = {
        "id": 12,
        "name": "a post",
        "creator_id": 7,
        "community_id": 3,
        "removed": False,
        "locked": False,
        "published": "2026-11-21T10:00:00Z",
        "deleted": False,
        "nsfw": False,
        "ap_id": "https://lemmy.example/post/12",
        "local": True,
        "language_id": 0,
        "featured_community": False,
        "featured_local": False,
    }
    post.update(fields)
    view = {
        "post": post,
        "creator": PERSON,
        "community": COMMUNITY,
        "creator_banned_from_community": False,
        "banned_from_community": False,
        "creator_is_moderator": False,
        "creator_is_admin": False,
        "counts": {
            "post_id": 12,
            "comments": 0,
            "score": 1,
            "upvotes": 1,
            "downvotes": 0,
            "published": "2026-11-21T10:00:00Z",
            "newest_comment_time": "2026-11-21T10:00:00Z",
        },
        "subscribed": "NotSubscribed",
        "saved": False,
        "read": False,
        "hidden": False,
        "creator_blocked": False,
        "unread_comments": 0,
    }
    jsonschema.validate({"posts": [view]}, _schema("GetPostsResponse"))
    return view


def make_comment(content):
    view = {
        "comment": {
            "id": 40,
            "creator_id": 7,
            "post_id": 12,
            "content": content,
            "removed": False,
            "published": "2026-11-21T10:00:00Z",
            "deleted": False,
            "ap_id": "https://lemmy.example/comment/40",
            "local": True,
            "path": "0.40",
            "distinguished": False,
            "language_id": 0,
        },
        "creator": PERSON,
        "post": make_post()["post"],
        "community": COMMUNITY,
        "counts": {
            "comment_id": 40,
            "score": 1,
            "upvotes": 1,
            "downvotes": 0,
            "published": "2026-11-21T10:00:00Z",
            "child_count": 0,
        },
        "creator_banned_from_community": False,
        "banned_from_community": False,
        "creator_is_moderator": False,
        "creator_is_admin": False,
        "subscribed": "NotSubscribed",
        "saved": False,
        "creator_blocked": False,
    }
    jsonschema.validate({"comments": [view]}, _schema("GetCommentsResponse"))
    return view


def _schema(name):
    return json.loads((SCHEMAS / f"{name}.json").read_text())


def urls(refs):
    return [(r.location, r.url) for r in refs]


def test_image_post_gives_url_thumbnail_and_body_images():
    view = make_post(
        url="https://lemmy.example/pictrs/image/a1b2.jpeg",
        url_content_type="image/jpeg",
        thumbnail_url="https://lemmy.example/pictrs/image/t9.webp",
        body="look ![cat](https://cats.example/c.png) and ![dog](https://dogs.example/d.gif)",
    )
    refs = image_refs(view, kind="post", instance_url=INSTANCE)
    assert refs == [
        ImageRef("https://lemmy.example/pictrs/image/a1b2.jpeg", "post_url", alias="a1b2.jpeg"),
        ImageRef("https://lemmy.example/pictrs/image/t9.webp", "thumbnail", alias="t9.webp"),
        ImageRef("https://cats.example/c.png", "body"),
        ImageRef("https://dogs.example/d.gif", "body"),
    ]


def test_article_link_is_not_fetched_but_its_thumbnail_is():
    view = make_post(
        url="https://news.example/2026/11/story",
        url_content_type="text/html; charset=utf-8",
        thumbnail_url="https://lemmy.example/pictrs/image/og.jpeg",
    )
    assert urls(image_refs(view, kind="post", instance_url=INSTANCE)) == [
        ("thumbnail", "https://lemmy.example/pictrs/image/og.jpeg"),
    ]


@pytest.mark.parametrize(
    "url, content_type, expected",
    [
        ("https://img.example/photo", "image/png", True),  # Lemmy saw an image
        ("https://img.example/a/photo.JPG", None, True),  # extension, any case
        ("https://img.example/a/photo.webp?size=large", None, True),
        ("https://other.example/pictrs/image/xyz", None, True),  # pict-rs anywhere
        ("https://lemmy.example/api/v4/image/xyz", None, True),
        ("https://news.example/story.html", None, False),
        ("https://news.example/jpg/story", None, False),  # "jpg" is a folder here
        ("https://video.example/v.mp4", "video/mp4", False),
        ("ftp://img.example/a.png", None, False),
    ],
)
def test_which_post_links_look_like_images(url, content_type, expected):
    assert looks_like_image(url, content_type, INSTANCE) is expected


def test_post_link_with_image_extension_and_no_content_type():
    view = make_post(url="https://img.example/2026/cat.jpeg")
    assert urls(image_refs(view, kind="post", instance_url=INSTANCE)) == [
        ("post_url", "https://img.example/2026/cat.jpeg"),
    ]


def test_image_proxy_thumbnail_is_unwrapped_to_the_original_with_the_proxy_as_fallback():
    proxy = "https://lemmy.example/api/v3/image_proxy?url=https%3A%2F%2Fnews.example%2Fog.jpg"
    view = make_post(url="https://news.example/story", thumbnail_url=proxy)
    [ref] = image_refs(view, kind="post", instance_url=INSTANCE)
    assert ref == ImageRef(proxy, "thumbnail", original_url="https://news.example/og.jpg")
    assert ref.fetch_urls == ("https://news.example/og.jpg", proxy)


def test_proxy_and_original_of_one_image_count_once_at_the_most_significant_place():
    proxy = "https://lemmy.example/api/v3/image_proxy?url=https%3A%2F%2Fimg.example%2Fa.png"
    view = make_post(
        url="https://img.example/a.png",
        thumbnail_url=proxy,
        body=f"![again]({proxy}) ![same](HTTPS://IMG.EXAMPLE:443/a.png#frag)",
    )
    assert urls(image_refs(view, kind="post", instance_url=INSTANCE)) == [
        ("post_url", "https://img.example/a.png"),
    ]


def test_v4_proxy_and_nested_local_upload_behind_a_proxy():
    assert unwrap_proxy("https://lemmy.example/api/v4/image/proxy?url=https://x.example/i.png") == (
        "https://x.example/i.png"
    )
    assert pictrs_alias("https://lemmy.example/api/v4/image/proxy?url=x", INSTANCE) is None
    proxied_local = (
        "https://lemmy.example/api/v3/image_proxy?url=https://lemmy.example/pictrs/image/q.png"
    )
    [ref] = image_refs(
        make_comment(f"![x]({proxied_local})"), kind="comment", instance_url=INSTANCE
    )
    assert ref.alias == "q.png" and ref.original_url == "https://lemmy.example/pictrs/image/q.png"
    assert unwrap_proxy("https://lemmy.example/api/v3/image_proxy?url=javascript:alert(1)") is None
    assert unwrap_proxy("https://lemmy.example/api/v3/image_proxy") is None


@pytest.mark.parametrize("path", ["/api/v3/image_proxy", "/api/v4/image/proxy"])
def test_a_proxy_url_on_another_host_is_fetched_as_written_not_its_url_original(path):
    # People's browsers load whatever evil.example answers there; the url= parameter
    # is only its word. Only the instance's own proxy is known to show the original.
    fake = f"https://evil.example{path}?url=https://decoy.example/cat.png"
    behind_local = f"https://evil.example{path}?url=https://lemmy.example/pictrs/image/q.png"
    view = make_comment(f"![]({fake}) ![](https://decoy.example/cat.png) ![]({behind_local})")
    refs = image_refs(view, kind="comment", instance_url=INSTANCE)
    assert [r.fetch_urls for r in refs] == [
        (fake,),
        ("https://decoy.example/cat.png",),
        (behind_local,),
    ]
    assert [(r.original_url, r.alias) for r in refs] == [(None, None)] * 3


def test_pictrs_alias_only_for_the_local_instance_and_without_query():
    assert (
        pictrs_alias(
            "https://lemmy.example/pictrs/image/ab-12.png?format=webp&thumbnail=256", INSTANCE
        )
        == "ab-12.png"
    )
    assert pictrs_alias("https://LEMMY.example:443/pictrs/image/ab.png", INSTANCE) == "ab.png"
    assert pictrs_alias("https://other.example/pictrs/image/ab.png", INSTANCE) is None
    assert pictrs_alias("https://lemmy.example:8443/pictrs/image/ab.png", INSTANCE) is None
    assert pictrs_alias("https://lemmy.example/pictrs/image/", INSTANCE) is None
    assert pictrs_alias("https://lemmy.example/u/ab.png", INSTANCE) is None


def test_same_alias_as_thumbnail_rendition_counts_once():
    view = make_post(
        url="https://lemmy.example/pictrs/image/abc.png",
        thumbnail_url="https://lemmy.example/pictrs/image/abc.png?format=jpg&thumbnail=256",
    )
    assert urls(image_refs(view, kind="post", instance_url=INSTANCE)) == [
        ("post_url", "https://lemmy.example/pictrs/image/abc.png"),
    ]


MARKDOWN = """\
Inline: ![a [nested] alt](https://en.wikipedia.org/wiki/Foo_(bar).png "a title")
Angle: ![spaced](<https://x.example/a b.jpg>)  single: ![s](https://x.example/s.png 'single')
Relative: ![rel](/pictrs/image/rel.webp)
Reference: ![first][r1] and ![R2] and ![r3][]
Escaped: \\![not an image](https://x.example/no.png) is text... but ![y](https://x.example/y.png)
A link, not an image: [link](https://x.example/link.png)
Broken: ![unclosed](https://x.example/unclosed.png

[r1]: https://ref.example/1.gif
[r2]: <https://ref.example/2.gif> 'two'
  [R3]: https://ref.example/3.gif "three"
"""


def test_markdown_images_in_a_comment():
    refs = image_refs(make_comment(MARKDOWN), kind="comment", instance_url=INSTANCE)
    assert [r.url for r in refs] == [
        "https://en.wikipedia.org/wiki/Foo_(bar).png",
        "https://x.example/a b.jpg",
        "https://x.example/s.png",
        "https://lemmy.example/pictrs/image/rel.webp",
        "https://ref.example/1.gif",
        "https://ref.example/2.gif",
        "https://ref.example/3.gif",
        # `\!` is a literal "!" (a link follows, no image): an image no one sees would
        # take a real one's place within fetch.max_images_per_item
        "https://x.example/y.png",
    ]
    assert {r.location for r in refs} == {"comment"}
    assert refs[3].alias == "rel.webp"


def test_custom_emojis_are_skipped_only_when_they_are_the_sites_emojis():
    site = {
        "custom_emojis": [
            {
                "custom_emoji": {
                    "id": 1,
                    "local_site_id": 1,
                    "shortcode": "smile",
                    "alt_text": "smile",
                    "category": "faces",
                    "published": "2026-01-01T00:00:00Z",
                    "image_url": "https://lemmy.example/pictrs/image/smile.png",
                },
                "keywords": [],
            }
        ]
    }
    emojis = site_emoji_urls(site)
    assert emojis == {"https://lemmy.example/pictrs/image/smile.png"}
    text = (
        '![smile](https://lemmy.example/pictrs/image/smile.png "emoji smile") '
        '![smile](https://evil.example/real.jpg "emoji smile")'
    )
    refs = image_refs(
        make_comment(text), kind="comment", instance_url=INSTANCE, custom_emoji_urls=emojis
    )
    assert [r.url for r in refs] == ["https://evil.example/real.jpg"]
    # without the site's list nothing is hidden by its title alone
    assert len(image_refs(make_comment(text), kind="comment", instance_url=INSTANCE)) == 2


def test_non_http_images_and_empty_items_give_nothing():
    # a data: image is found, by a reference (test_datauri_images.py); not another type
    text = "![js](javascript:alert(1)) ![d](data:image/svg+xml;base64,PHN2Zy8+) ![](  )"
    assert image_refs(make_comment(text), kind="comment", instance_url=INSTANCE) == []
    assert image_refs(make_post(), kind="post", instance_url=INSTANCE) == []
    with pytest.raises(ValueError, match="kind"):
        image_refs(make_post(), kind="person", instance_url=INSTANCE)


def test_local_videos_are_fetched_as_the_still_pictrs_renders():
    view = make_post(url="https://lemmy.example/pictrs/image/v1.mp4", url_content_type="video/mp4")
    [ref] = image_refs(view, kind="post", instance_url=INSTANCE)
    assert ref == ImageRef("https://lemmy.example/pictrs/image/v1.mp4", "post_url", alias="v1.mp4")
    assert ref.fetch_urls == (
        "https://lemmy.example/pictrs/image/v1.mp4?format=jpg&thumbnail=1024",
    )
    upload = {
        "local_image": {
            "pictrs_alias": "c2.WEBM",
            "pictrs_delete_token": "t",
            "published": "2026-11-21T09:00:00Z",
        },
        "person": PERSON,
    }
    assert upload_ref(upload, instance_url=INSTANCE).fetch_urls == (
        "https://lemmy.example/pictrs/image/c2.WEBM?format=jpg&thumbnail=1024",
    )
    # a remote video is listed to be recorded as not scanned, never fetched (its
    # thumbnail is, when Lemmy made one)
    remote = make_post(url="https://video.example/v.mp4", url_content_type="video/mp4")
    [ref] = image_refs(remote, kind="post", instance_url=INSTANCE)
    assert ref == ImageRef("https://video.example/v.mp4", "post_url")
    assert remote_video(ref, "video/mp4") and not remote_video(
        ImageRef("https://v.example/a.jpg", "post_url"), "video/mp4"
    )


def test_upload_from_list_all_media():
    view = {
        "local_image": {
            "local_user_id": 4,
            "pictrs_alias": "f00d.png",
            "pictrs_delete_token": "tok",
            "published": "2026-11-21T09:00:00Z",
        },
        "person": PERSON,
    }
    jsonschema.validate({"images": [view]}, _schema("ListMediaResponse"))
    assert upload_ref(view, instance_url=INSTANCE + "/") == ImageRef(
        "https://lemmy.example/pictrs/image/f00d.png", "upload", alias="f00d.png"
    )


HOSTILE_MARKDOWN = {
    "unclosed brackets": "![[" * 25_000,
    "unclosed images": "![a" * 16_000,
    "unclosed destinations": "![a](" * 10_000,
    "long unclosed destinations": ("![a](" + "x" * 1000) * 50,
    "definition-like lines": '\n[a]: u "' * 6000,
    "unclosed angle destinations": "![a](<" * 10_000,
}


@pytest.mark.timeout(60)  # a hang guard: these took minutes with a naive scanner
@pytest.mark.parametrize("name", list(HOSTILE_MARKDOWN))
def test_hostile_markdown_does_not_hide_the_real_image(name):
    text = HOSTILE_MARKDOWN[name] + "\n\n![real](https://ok.example/a.png)"
    refs = image_refs(make_comment(text), kind="comment", instance_url=INSTANCE)
    assert [r.url for r in refs][-1:] == ["https://ok.example/a.png"]


def test_urls_are_split_once_and_kept_only_when_of_ordinary_length():
    from modbot import images

    images._split_cached.cache_clear()
    long = "https://example.org/" + "a" * 5000 + ".jpg"  # a hostile comment's, say
    short = "https://example.org/a.jpg"
    assert images._split(long).hostname == images._split(short).hostname == "example.org"
    assert images._split(short) is images._split(short)
    assert images._split_cached.cache_info().currsize == 1, "the long one is not kept"
