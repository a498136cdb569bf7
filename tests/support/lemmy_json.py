"""The image finder on Lemmy 0.19's JSON, as the bot meets it: a view becomes an item in
``modbot.lemmy.views_v3``, then ``modbot.images`` finds its images."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from modbot import images
from modbot.lemmy import views_v3
from modbot.model import ImageRef


def image_refs(
    view: Any, *, kind: str, instance_url: str, custom_emoji_urls: Iterable[str] = ()
) -> list[ImageRef]:
    return images.image_refs(
        views_v3.item(kind, view), instance_url=instance_url, custom_emoji_urls=custom_emoji_urls
    )


def upload_ref(view: Any, *, instance_url: str) -> ImageRef:
    return images.upload_ref(views_v3.upload_item(view), instance_url=instance_url)


def site_emoji_urls(site: dict[str, Any]) -> frozenset[str]:
    return views_v3.custom_emoji_urls(site)
