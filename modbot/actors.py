"""How an admin may name a user or a community (``exempt.users``, ``author:``,
``modbot audit --person``): its actor URL, ``name@host``, or a bare name for a local one.
Kept apart from the rules so that the audit reads it without loading the rules' schema."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["ACTOR_PATHS", "actor_handle", "actor_keys", "community_keys", "user_keys"]

# The paths actor ids name a user or a community by on Lemmy and the servers it federates
# with (Mastodon and most others /users/, PeerTube /accounts/ and /video-channels/, mbin
# /m/), so that `name@host` works for them all; any other actor is known by its URL.
ACTOR_PATHS = {"u": "u|users|accounts", "c": "c|m|video-channels"}


def actor_handle(url: str, kind: str = "u") -> str | None:
    """``name@host`` of an actor URL at one of ``ACTOR_PATHS[kind]``; None for another."""
    parts = urlsplit(url)
    m = re.fullmatch(rf"/(?:{ACTOR_PATHS[kind]})/([^/]+)/?", parts.path)
    return f"{m.group(1)}@{parts.hostname}" if m and parts.hostname else None


def actor_keys(value: str | None, local: bool | None, kind: str) -> set[str]:
    """All the ways an admin may write this user or community: URL, name@host, bare name."""
    if not value:
        return set()
    value = value.strip().lower()
    keys = {value}
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.hostname:
        handle = actor_handle(value, kind)
        if handle is None:
            return keys
        keys.add(handle)
        name = handle.split("@", 1)[0]
    elif "@" in value:
        name = value.split("@", 1)[0]
    else:
        name = value
        local = True if local is None else local
    if local:
        keys.add(name)
    return keys


def user_keys(actor_id: str | None, local: bool | None) -> set[str]:
    return actor_keys(actor_id, local, "u")


def community_keys(name: str | None, local: bool | None) -> set[str]:
    return actor_keys(name, local, "c")
