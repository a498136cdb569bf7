"""Ready-made casts for the fake instance, shared by the tests and `modbot demo`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fakelemmy.state import Community, Person, now

PASSWORD = "pw"  # every cast member who can log in uses it


@dataclass
class Cast:
    """Who and what `standard_cast` created (all with password `PASSWORD`)."""

    admin: Person  # "admin": a human admin
    bot: Person  # "modbot": the bot's account, admin + bot_account, settings that hide
    mod: Person  # "mod": moderator of both communities
    alice: Person  # "alice": a local user, account a month old
    bob: Person  # "bob@remote.example": a federated user, account a day old
    pics: Community  # "pics": a normal local community
    nsfw: Community  # "nsfw": a local NSFW community


def standard_cast(lemmy) -> Cast:
    """Add the usual people and communities to `lemmy` and return them.

    The bot account starts with Lemmy's defaults for a fresh bot that hide content:
    `show_nsfw=False`, `show_bot_accounts=False` (`show_read_posts=True`).
    """
    admin = lemmy.add_person("admin", admin=True, password=PASSWORD)
    bot = lemmy.add_person(
        "modbot",
        admin=True,
        bot_account=True,
        password=PASSWORD,
        show_nsfw=False,
        show_bot_accounts=False,
        show_read_posts=True,
    )
    mod = lemmy.add_person("mod", password=PASSWORD)
    alice = lemmy.add_person("alice", password=PASSWORD, published=now() - timedelta(days=30))
    bob = lemmy.add_person(
        "bob", local=False, instance="remote.example", published=now() - timedelta(days=1)
    )
    pics = lemmy.add_community("pics", moderators=[mod.id])
    nsfw = lemmy.add_community("nsfw", nsfw=True, moderators=[mod.id])
    return Cast(admin, bot, mod, alice, bob, pics, nsfw)
