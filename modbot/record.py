"""What the pipeline hands to the stages about one image of one item, and what it
records: the rules' ``Subject``, the actions' ``Target``, the audit's ``Decision``.

One decision is recorded per image found, flagged or not, with the reason when it could
not be checked (``skipped``): an unflagged image is a decision with no rule and no
action, so reports count what was looked at as well as what was done.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from modbot.config.schema import is_fetch_failure
from modbot.model import (
    FILE_KINDS,
    PROFILE_KINDS,
    Decision,
    Item,
    ItemImage,
    RecordedImage,
    RecordedItem,
    Target,
    parse_time,
    utc_iso,
)
from modbot.rules import Subject

__all__ = [
    "decision_for",
    "permalink",
    "recorded_at",
    "recorded_subject",
    "subject_for",
    "target_for",
]


def permalink(public_url: str, item: Item, img: ItemImage) -> str | None:
    """Where a moderator sees the item: the instance's page of a post or comment; an
    upload (or an item with no readable id) is its image's URL; a profile or community
    image, the person's or the community's page (its actor id), else the image's URL."""
    if item.kind in PROFILE_KINDS:
        owner = item.author or item.community
        actor = owner.actor_id if owner is not None else None
        return actor or (img.ref.url if img.ref is not None else None)
    if item.kind in FILE_KINDS or not isinstance(item.id, int):
        return img.ref.url if img.ref is not None else None
    return f"{public_url}/{item.kind}/{item.id}"


def decision_for(
    item: Item, img: ItemImage, *, run_id: str, dry_run: bool, public_url: str
) -> Decision:
    """The decision record of one image as it came out of fetching and classifying; the
    rules and actions fill in the rest."""
    community, creator = item.community, item.author
    verdict = img.verdict or {}
    return Decision(
        run_id=run_id,
        decided_at=utc_iso(),
        dry_run=dry_run,
        item=RecordedItem(
            kind=item.kind,
            id=item.id,
            url=permalink(public_url, item, img),
            community=community.ref if community else None,
            community_nsfw=community.nsfw if community else None,
            author=creator.actor_id if creator else None,
            author_id=creator.id if creator else None,
            published=utc_iso(item.published) if item.published else None,
            local=item.local,
            community_id=community.id if community else None,
            community_local=community.local if community else None,
            author_local=creator.local if creator else None,
            author_bot=creator.bot_account if creator else None,
            author_published=utc_iso(creator.published) if creator and creator.published else None,
            author_is_moderator=item.author_is_moderator,
            author_is_admin=item.author_is_admin,
            shown_by=[list(s) for s in item.shown_by] or None,
            author_role=item.author_role,
            version=item.updated or None,
        ),
        image=None
        if img.ref is None
        else RecordedImage(
            url=img.ref.url,
            location=img.ref.location,
            sha256=img.sha256,
            alias=img.ref.alias,
            hashes=dict(img.hashes),
            hashes_not_taken=dict(img.hashes_not_taken),
            checked_url=img.copy.url if img.copy else None,
            checked_copy=img.copy.note() if img.copy else None,
            original_failed=img.copy.original_failed if img.copy else None,
            original_failed_detail=(img.copy.detail or None) if img.copy else None,
            original_url=img.ref.original_url,
            # a video is checked through one still: say so (modbot.model.ImageRef)
            checked="first_frame" if img.ref.video_still else None,
            ended_early=img.ended_early,
        ),
        scores=dict(verdict.get("scores") or {}),
        labels=list(verdict.get("labels") or []),
        model=verdict.get("model"),
        random_weights=verdict.get("random_weights"),
        concept_version=verdict.get("concept_version"),
        unreadable=verdict.get("unreadable"),
    )


def subject_for(
    item: Item, img: ItemImage, *, public_url: str, admin_ids: Collection[int]
) -> Subject:
    """The image as the rules see it (``admin_ids``: the instance's admins, as the session
    last read them)."""
    assert img.ref is not None  # only an image that was found is decided
    community, creator = item.community, item.author
    verdict = img.verdict or {}
    author_id = creator.id if creator else None
    return Subject(
        item_kind=item.kind,
        found_in=img.ref.location,
        item_local=item.local,
        community_name=community.ref if community else None,
        community_nsfw=community.nsfw if community else None,
        community_local=community.local if community else None,
        author_actor_id=creator.actor_id if creator else None,
        author_local=creator.local if creator else None,
        author_bot=creator.bot_account if creator else None,
        author_published=creator.published if creator else None,
        author_is_moderator=item.author_is_moderator,
        author_is_admin=item.author_is_admin or author_id in admin_ids,
        labels=tuple(verdict.get("labels") or ()),
        scores=dict(verdict.get("scores") or {}),
        unreadable=verdict.get("unreadable"),
        skipped=img.skipped,
        **_fetch_failure(img),
        sha256=img.sha256,
        image=img.data,
        hashes=img.hashes,
        permalink=permalink(public_url, item, img),
        image_url=img.ref.url,
    )


def _fetch_failure(img: ItemImage) -> dict[str, str | None]:
    """The Subject's facts of a failed download, live (``fetch_failure_facts``)."""
    copy = img.copy
    return fetch_failure_facts(
        copy_url=copy.url if copy else None,
        original_failed=copy.original_failed if copy else None,
        original_detail=copy.detail if copy else None,
        skipped=img.skipped,
        skipped_detail=img.skipped_detail,
    )


def fetch_failure_facts(
    *,
    copy_url: str | None,
    original_failed: str | None,
    original_detail: str | None,
    skipped: str | None,
    skipped_detail: str | None,
) -> dict[str, str | None]:
    """The Subject's facts of a failed download: its original's when the instance's copy
    (``copy_url``) was checked instead, else the image's own when its skip is one. Live
    and from a record (a report from the record) alike."""
    if copy_url is not None:
        return {
            "fetch_failed": original_failed,
            "fetch_failed_detail": original_detail or None,
            "checked_copy": copy_url,
        }
    if is_fetch_failure(skipped):
        return {"fetch_failed": skipped, "fetch_failed_detail": skipped_detail or None}
    return {}


def target_for(
    item: Item,
    img: ItemImage,
    *,
    public_url: str,
    file_exempt: str | None = None,
    uploader_exempt: str | None = None,
) -> Target:
    """What the image's actions act on (``file_exempt``: why its file must be spared;
    ``uploader_exempt``: why its uploader must be)."""
    assert img.ref is not None
    creator, community = item.author, item.community
    return Target(
        kind=item.kind,
        id=item.id,
        url=permalink(public_url, item, img),
        author_id=creator.id if creator else None,
        author_name=(creator.actor_id or creator.name or "") if creator else "",
        author_is_admin=item.author_is_admin,
        community_id=community.id if community else None,
        image_alias=img.ref.alias,
        image_url=img.ref.url,
        image_original_url=img.ref.original_url,
        image_sha256=img.sha256,
        delete_token=item.upload.delete_token if item.upload else None,
        file_exempt=file_exempt,
        uploader_exempt=uploader_exempt,
        shown_by=item.shown_by,
        author_role=item.author_role,
    )


def recorded_subject(
    record: Mapping[str, Any],
    verdict: Mapping[str, Any] | None,
    *,
    admin_ids: Collection[int],
    **facts: Any,
) -> Subject:
    """An image of a recorded decision as the rules see it: the item's facts as the
    record keeps them (``record``: the decision's ``item`` and ``image``; an author
    admin then, or now, is one), the labels, scores and unreadable of ``verdict``, and
    ``facts``: the Subject's other fields (sha256, hashes, skipped, ...). Decided as of
    the decision's time (``recorded_at``): an account's age as it was counted then.
    The exemptions of now (``Pipeline._exempt_now``) and ``modbot report`` from the
    record build it alike."""
    item, image = record.get("item") or {}, record.get("image") or {}
    verdict = verdict or {}
    return Subject(
        item_kind=str(item.get("kind")),
        found_in=image.get("location"),
        item_local=item.get("local"),
        community_name=item.get("community"),
        community_nsfw=item.get("community_nsfw"),
        community_local=item.get("community_local"),
        author_actor_id=item.get("author"),
        author_local=item.get("author_local"),
        author_bot=item.get("author_bot"),
        author_published=parse_time(item.get("author_published")),
        author_is_moderator=bool(item.get("author_is_moderator")),
        author_is_admin=bool(item.get("author_is_admin")) or item.get("author_id") in admin_ids,
        labels=tuple(verdict.get("labels") or ()),
        scores=dict(verdict.get("scores") or {}),
        unreadable=verdict.get("unreadable"),
        permalink=item.get("url"),
        image_url=image.get("url"),
        **facts,
    )


def recorded_at(record: Mapping[str, Any]) -> datetime | None:
    """When the bot decided ``record``: what a ``recorded_subject`` is decided as of
    (None: now)."""
    value = record.get("decided_at")
    return parse_time(value) if isinstance(value, str) else None
