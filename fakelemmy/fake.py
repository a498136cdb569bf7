"""`FakeLemmy`: a Lemmy 0.19 or 1.0 + pict-rs instance and a remote web host, in-process.

Build it, add a scenario (persons, communities, posts, comments, uploads, remote
files), start it, point the bot at `url`; add more content between polls; inspect
`requests`, `mutating_requests()` and the state objects afterwards. `version` picks the
Lemmy: 0.19 serves API v3 (`lemmy_api.py`), 1.0 (`version="1.0"`) serves API v4 and
1.0's v3 compatibility layer (`lemmy_api_v4.py`); the scenario API and the state are
the same for both. See the section "The fake Lemmy" in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
from datetime import datetime, timedelta
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from fakelemmy import hostile
from fakelemmy.images_v4 import ImagesV4
from fakelemmy.lemmy_api import Ctx, LemmyApi, nodeinfo_routes
from fakelemmy.lemmy_api_v4 import V3_TO_V4, LemmyApiV4
from fakelemmy.params import ApiError, Body, Query
from fakelemmy.params_v4 import ApiErrorV4
from fakelemmy.pictrs import Pictrs, alias_of_local_url, new_alias, sniff_image
from fakelemmy.remote import RemoteEntry, RemoteWeb
from fakelemmy.server import (
    Fault,
    Instrument,
    RateLimiter,
    RequestRecord,
    ServerThread,
    Tamper,
    Trickle,
    bind_socket,
)
from fakelemmy.state import (
    Comment,
    Community,
    CommunityBan,
    ModAction,
    Notification,
    Person,
    Post,
    PrivateMessage,
    Report,
    SiteSettings,
    State,
    Upload,
    now,
)
from fakelemmy.upload import Uploads, Validation
from fakelemmy.views import Views
from fakelemmy.views_v4 import ViewsV4

# Methods that never change state; GET /pictrs/image/delete/... is the one GET that does.
READ_METHODS = ("GET", "HEAD", "OPTIONS")
# login only issues a token (a dry run logs in too): 0.19's, 1.0's and 1.0's v3 one
NOT_MUTATING = ("/api/v3/user/login", "/api/v4/account/auth/login")
LEMMY_1_0 = "1.0.0-beta.1"  # what `version="1.0"` reports (nodeinfo, /site)


class FakeLemmy:
    """A live, mutable, thread-safe fake instance. Use as a context manager or
    `start()`/`stop()`. URLs are fixed from construction on."""

    def __init__(
        self,
        *,
        version: str = "0.19.9",
        rate_limit: tuple[int, float] | None = (180, 60),
        login_rate_limit: tuple[int, float] | None = (10, 3600),
        image_rate_limit: tuple[int, float] | None = (6, 3600),
        image_mode: str = "proxy_all_images",
        external_validation: str | None = None,
    ) -> None:
        """`version`: "0.19.9" (API v3), or "1.0" / any "1.x" string (API v4, with 1.0's
        v3 layer). `image_rate_limit`: 1.0's `image` bucket (uploads and DELETE /image);
        `image_mode`: 1.0's site setting (proxy_all_images, store_link_previews, none)."""
        version = LEMMY_1_0 if version == "1.0" else version
        self.version = version
        self.api_version = "v4" if int(version.split(".", 1)[0]) >= 1 else "v3"
        # pict-rs' media.external_validation (the gate's URL) and its timeout (fakelemmy.upload)
        self.external_validation = external_validation
        self.external_validation_timeout = 30.0
        self.validations: list[Validation] = []
        self.cast = None  # set by a scenario (`scenarios.standard_cast`) when one is used
        self.state = State()
        self.stopping = False
        self.started_at = now()
        self._requests: list[RequestRecord] = []
        self._faults: dict[tuple[str, str], list[Fault]] = {}
        self._delays: dict[tuple[str, str], list] = {}
        self._spoilers: dict[tuple[str, str], Tamper | Trickle] = {}
        self._holds: dict[tuple[str, str], threading.Event] = {}
        self._control = threading.Lock()
        limits = {"message": rate_limit, "register": login_rate_limit}
        if self.api_version == "v4":
            limits["image"] = image_rate_limit
        self.rate_limiter = RateLimiter(limits)
        self.pictrs_api_key = secrets.token_hex(16)

        sockets = [bind_socket() for _ in range(3)]
        ports = [s.getsockname()[1] for s in sockets]
        self.url, self.pictrs_url, self.remote_url = (f"http://127.0.0.1:{p}" for p in ports)
        self.state.site.image_mode = image_mode
        self.views = Views(self.state, self.url, version, limits)
        self.views_v4 = ViewsV4(self.state, self.url, version, limits)
        self.remote = RemoteWeb(self)
        self.api = LemmyApi(self)
        self.pictrs = Pictrs(self)
        self.images_v4 = ImagesV4(self)
        # uploads as Lemmy 0.19 and pict-rs take them, validated as pict-rs validates them
        self.uploads = Uploads(self)
        self.v4: LemmyApiV4 | None = None
        if self.api_version == "v4":
            self.v4 = LemmyApiV4(self)
            lemmy_app = Starlette()
            lemmy_app.router.routes.extend(
                [
                    *self.v4.routes(),
                    *self.images_v4.routes(),
                    *self.v4.compat_routes(),
                    *nodeinfo_routes(self),
                    self.v4.fallback_route(lambda: lemmy_app.router.routes),
                ]
            )
        else:
            lemmy_app = Starlette(
                routes=[
                    *self.api.routes(self._endpoint),
                    *self.uploads.lemmy_routes(),
                    *self.pictrs.lemmy_routes(),
                    *nodeinfo_routes(self),
                ]
            )
        apps = {
            ports[0]: Instrument(lemmy_app, self, "lemmy"),
            ports[1]: Instrument(
                Starlette(routes=[*self.pictrs.internal_routes(), *self.uploads.pictrs_routes()]),
                self,
                "pictrs",
            ),
            ports[2]: Instrument(Starlette(routes=self.remote.routes()), self, "remote"),
        }
        self._server = ServerThread(sockets, apps)
        self.state.instance_id(self.url.split("//", 1)[1])

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeLemmy:
        self._server.start()
        return self

    def stop(self) -> None:
        self.stopping = True
        self._server.stop()

    def __enter__(self) -> FakeLemmy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ scenario
    def add_person(
        self,
        name: str,
        *,
        admin: bool = False,
        bot_account: bool = False,
        password: str | None = None,
        local: bool = True,
        instance: str | None = None,
        published: datetime | None = None,
        show_nsfw: bool = False,
        show_bot_accounts: bool = True,
        show_read_posts: bool = True,
        default_listing_type: str = "Local",
        discussion_languages: list[int] | None = None,
        display_name: str | None = None,
        avatar: str | None = None,
        banner: str | None = None,
        bio: str | None = None,
        **settings,
    ) -> Person:
        """A person; `local=False` with `instance="remote.example"` for a federated one
        (remote persons cannot log in and are never admins of this instance). On 1.0 a
        remote `avatar`/`banner` is stored as its proxy URL and `bio` images rewritten.
        `settings`: more local-user settings by name (1.0's `hide_posts_with_media`,
        `auto_mark_fetched_posts_as_read`, `default_post_time_range_seconds`, ...)."""
        domain = self.url.split("//", 1)[1] if local else (instance or "remote.example")
        if self.v4 is not None:
            with self.state.lock:
                avatar, banner = self.images_v4.link(avatar), self.images_v4.link(banner)
                bio = self.images_v4.markdown(bio)
        with self.state.lock:
            person = Person(
                id=self.state.next_id("person"),
                name=name,
                local=local,
                instance=domain,
                published=published or now(),
                admin=admin and local,
                bot_account=bot_account,
                password=password if local else None,
                local_user_id=self.state.next_id("local_user") if local else None,
                show_nsfw=show_nsfw,
                show_bot_accounts=show_bot_accounts,
                show_read_posts=show_read_posts,
                default_listing_type=default_listing_type,
                discussion_languages=discussion_languages,
                display_name=display_name,
                avatar=avatar,
                banner=banner,
                bio=bio,
                instance_id=self.state.instance_id(domain),
            )
            for name, value in settings.items():
                if not hasattr(person, name):
                    raise AttributeError(f"Person has no setting {name!r}")
                setattr(person, name, value)
            self.state.persons[person.id] = person
        return person

    def ban_at_home(
        self,
        person: Person,
        *,
        reason: str = "banned at home",
        expires: datetime | None = None,
        ban: bool = True,
        admin: Person | None = None,
        remove_data: bool = False,
    ) -> None:
        """What reaches this instance when a remote person's home instance bans (or,
        `ban=False`, unbans) them (apub block_user.rs / undo_block_user.rs `receive`):
        on 1.0 a ban row of their instance's own (`home_banned`, this instance's `banned`
        untouched), on 0.19 its one `banned` column; and a modlog ban line by `admin`, an
        admin of their instance (made when not given). `remove_data`: 1.0
        `remove_or_restore_user_data` by that admin, on a ban and an unban alike (as a
        ban here does it, the modlog rows children of the ban's); 0.19
        `remove_user_data` on a ban only (its undo restores nothing)."""
        if person.local:
            raise ValueError(f"{person.name} is local: their home is this instance")
        self.ban_by_instance(
            person,
            person.instance,
            reason=reason,
            expires=expires,
            ban=ban,
            admin=admin,
            remove_data=remove_data,
        )

    def ban_by_instance(
        self,
        person: Person,
        instance: str,
        *,
        reason: str = "banned there",
        expires: datetime | None = None,
        ban: bool = True,
        admin: Person | None = None,
        remove_data: bool = False,
    ) -> bool:
        """A remote instance's site ban of `person` as it reaches this one (apub
        block_user.rs / undo_block_user.rs), by `admin` (an admin of `instance`, made
        when not given). The person's home: `ban_at_home`. Another instance (a remote
        community's): 0.19 refuses the activity ("Site bans from remote instance can't
        affect user's home instance" / `verify_domains_match` of the site and the person:
        apub/src/activities/block/block_user.rs `verify`), nothing changes, False; 1.0
        keeps it as that instance's `instance_actions` row (`instance_bans`): post and
        comment views of that instance's communities show `creator_banned`, the
        `PersonView` does not; a modlog ban line; `remove_data` removes (an unban
        restores) the person's posts and comments in that instance's communities alone,
        with no modlog rows (`update_removed_for_instance`, apub activities/src/block/
        mod.rs:117-133). True when applied."""
        if instance == self.url.split("//", 1)[1]:
            raise ValueError(f"{instance} is this instance: ban through its API")
        home = not person.local and instance == person.instance
        if not home and self.v4 is None:
            return False
        with self.state.lock:
            if admin is None:
                admin = next(
                    (
                        p
                        for p in self.state.persons.values()
                        if not p.local and p.instance == instance and p.name == "homeadmin"
                    ),
                    None,
                ) or self.add_person("homeadmin", local=False, instance=instance)
            expires = expires if ban else None
            if self.v4 is None:
                person.banned, person.ban_expires = ban, expires
                person.ban_reason = reason if ban else None
            elif home:
                person.home_banned, person.home_ban_expires = ban, expires
            elif ban:
                person.instance_bans[instance] = expires
            else:
                person.instance_bans.pop(instance, None)
            self.state.modlog.append(
                ModAction(
                    "ban" if ban else "unban",
                    admin.id,
                    person.id,
                    reason,
                    now(),
                    {"expires": expires, "remove_data": remove_data},
                )
            )
            parent = len(self.state.modlog) - 1
            if not remove_data:
                return True
            if self.v4 is None:
                if ban:
                    self.api._remove_user_data(person)
            elif home:
                self.v4._remove_or_restore_data(admin, person, ban, reason, parent)
            else:
                for post in self.state.posts.values():
                    if post.creator_id == person.id and self._of_instance(post, instance):
                        post.removed, post.updated = ban, now()
                for comment in self.state.comments.values():
                    post = self.state.posts[comment.post_id]
                    if comment.creator_id == person.id and self._of_instance(post, instance):
                        comment.removed, comment.updated = ban, now()
        return True

    def _of_instance(self, post: Post, instance: str) -> bool:
        community = self.state.communities[post.community_id]
        return not community.local and community.instance == instance and not post.purged

    def add_community(
        self,
        name: str,
        *,
        nsfw: bool = False,
        moderators: list[int] | None = None,
        local: bool = True,
        instance: str | None = None,
        title: str | None = None,
        description: str | None = None,
        icon: str | None = None,
        banner: str | None = None,
        published: datetime | None = None,
        visibility: str = "public",
        removed: bool = False,
        deleted: bool = False,
        hidden: bool = False,
    ) -> Community:
        """A community (it has no posts until `add_post`). `visibility` (1.0): public,
        unlisted (left out of all/local post listings), local_only_public,
        local_only_private, private. `removed` (by an admin) and `deleted` (by its
        creator) hide it from the community list but for admins. `hidden` (0.19, an
        admin's `HideCommunity`; 1.0 has `unlisted` instead): listed in `community/list`
        to admins and its followers, its posts and comments (All, Local) to its
        followers alone, admins too, never in a profile's posts."""
        if hidden and self.v4 is not None:
            raise ValueError("hidden communities are 0.19's (1.0: visibility='unlisted')")
        domain = self.url.split("//", 1)[1] if local else (instance or "remote.example")
        if self.v4 is not None:
            with self.state.lock:
                icon, banner = self.images_v4.link(icon), self.images_v4.link(banner)
                description = self.images_v4.markdown(description)
        with self.state.lock:
            community = Community(
                id=self.state.next_id("community"),
                name=name,
                title=title or name.title(),
                nsfw=nsfw,
                local=local,
                instance=domain,
                published=published or now(),
                moderators=list(moderators or []),
                description=description,
                icon=icon,
                banner=banner,
                instance_id=self.state.instance_id(domain),
                visibility=visibility,
                removed=removed,
                deleted=deleted,
                hidden=hidden,
            )
            self.state.communities[community.id] = community
        return community

    def follow(self, community: Community, person: Person, *, state: str = "accepted") -> None:
        """`person` follows `community` (1.0: `community_actions.follow_state`; a private
        community's follow is `approval_required` until a moderator approves it: then
        `accepted`). `state=None` unfollows. 0.19: a `community_follower` row, `pending`
        unless "accepted" (`subscribed`: Subscribed / Pending; every row counts for the
        `Subscribed` listings and a hidden community)."""
        if state not in ("accepted", "pending", "approval_required", None):
            raise ValueError(f"no follow state {state!r}")
        with self.state.lock:
            if state is None:
                community.followers.pop(person.id, None)
            else:
                community.followers[person.id] = state

    def set_images(
        self, owner: Person | Community, *, avatar: str | None = None, **images: str | None
    ) -> None:
        """A person changes their `avatar`/`banner`, a community its `icon`/`banner`
        (as `user/save_user_settings` and `community` edits do: `updated` moves; on 1.0 a
        remote URL is stored as its proxy URL). A value of "" clears the image."""
        if avatar is not None:
            images["avatar"] = avatar
        with self.state.lock:
            target = (
                self.state.persons[owner.id]
                if isinstance(owner, Person)
                else self.state.communities[owner.id]
            )
            for name, url in images.items():
                if not hasattr(target, name) or name not in ("avatar", "banner", "icon"):
                    raise AttributeError(f"{type(target).__name__} has no image {name!r}")
                if self.v4 is not None and url:
                    url = self.images_v4.link(url)
                setattr(target, name, url or None)
            if isinstance(target, Person):
                target.updated = now()

    def add_post(
        self,
        community: Community | int,
        creator: Person | int,
        *,
        name: str = "a post",
        url: str | None = None,
        thumbnail_url: str | None = None,
        body: str | None = None,
        published: datetime | None = None,
        nsfw: bool = False,
        language_id: int = 0,
        url_content_type: str | None = None,
        embed_video_url: str | None = None,
        featured_local: bool = False,
        featured_community: bool = False,
        score: int = 1,
        local: bool | None = None,
        raw: bool = False,
        scheduled: datetime | None = None,
    ) -> Post:
        """A post as Lemmy stored it. On 1.0 (image mode `proxy_all_images`) a remote
        image `url` is stored as its proxy URL, the thumbnail proxied with `&max_size=`
        (made from an image `url` when not given; the raw URL on an NSFW post of a site
        without content warning), `body` images rewritten. `raw=True`: stored as given,
        as content from before an upgrade to 1.0 is. `scheduled` (1.0): its
        `scheduled_publish_time_at`, listed to its creator alone until
        `publish_scheduled_posts` runs after that time (`published` stays the time it
        was written)."""
        if scheduled is not None and self.v4 is None:
            raise ValueError("scheduled posts are Lemmy 1.0's (0.19 has none)")
        with self.state.lock:
            community = self._community(community)
            creator = self._person(creator)
            post_id = self.state.next_id("post")
            is_local = creator.local if local is None else local
            post = Post(
                id=post_id,
                community_id=community.id,
                creator_id=creator.id,
                name=name,
                published=published or now(),
                url=url,
                thumbnail_url=thumbnail_url,
                body=body,
                nsfw=nsfw,
                language_id=language_id,
                url_content_type=url_content_type or self._content_type_of(url),
                embed_video_url=embed_video_url,
                featured_local=featured_local,
                featured_community=featured_community,
                score=score,
                local=is_local,
                scheduled=scheduled,
                ap_id=f"{self.url}/post/{post_id}"
                if is_local
                else f"https://{creator.instance}/post/{post_id}",
            )
            self.state.posts[post.id] = post
            if self.v4 is not None and not raw:
                self.images_v4.store_post(post, thumbnail_given=thumbnail_url is not None)
        return post

    def publish_scheduled_posts(self) -> list[int]:
        """Lemmy 1.0's `publish_scheduled_posts`, a task run every 10 minutes
        (routes/src/utils/scheduled_tasks.rs): a post whose scheduled time is past is
        published (`scheduled_publish_time_at` unset, `published_at` left as it was)
        unless it is deleted or removed, its creator deleted or banned here or from its
        community, or its community removed or deleted. The ids published."""
        published = []
        with self.state.lock:
            for post in self.state.posts.values():
                if post.scheduled is None or post.scheduled >= now() or post.purged:
                    continue
                creator = self.state.persons[post.creator_id]
                community = self.state.communities[post.community_id]
                if (
                    post.deleted
                    or post.removed
                    or creator.deleted
                    or (
                        creator.banned
                        and (creator.ban_expires is None or creator.ban_expires > now())
                    )
                    or (community.id, creator.id) in self.state.community_bans
                    or community.removed
                    or community.deleted
                ):
                    continue
                post.scheduled = None
                published.append(post.id)
        return published

    def add_comment(
        self,
        post: Post | int,
        creator: Person | int,
        *,
        content: str = "a comment",
        published: datetime | None = None,
        parent: Comment | int | None = None,
        language_id: int = 0,
        score: int = 1,
        local: bool | None = None,
        raw: bool = False,
    ) -> Comment:
        """A comment; on 1.0 its images are rewritten to proxy URLs (not with `raw`)."""
        with self.state.lock:
            if self.v4 is not None and not raw:
                content = self.images_v4.markdown(content) or content
            post = self.state.posts[post if isinstance(post, int) else post.id]
            creator = self._person(creator)
            comment_id = self.state.next_id("comment")
            parent_comment = None
            if parent is not None:
                parent_comment = self.state.comments[
                    parent if isinstance(parent, int) else parent.id
                ]
            path = f"{parent_comment.path if parent_comment else '0'}.{comment_id}"
            is_local = creator.local if local is None else local
            comment = Comment(
                id=comment_id,
                post_id=post.id,
                creator_id=creator.id,
                content=content,
                published=published or now(),
                parent_id=parent_comment.id if parent_comment else None,
                path=path,
                language_id=language_id,
                score=score,
                local=is_local,
                ap_id=f"{self.url}/comment/{comment_id}"
                if is_local
                else f"https://{creator.instance}/comment/{comment_id}",
            )
            self.state.comments[comment.id] = comment
        return comment

    def add_upload(
        self,
        person: Person | int,
        data: bytes,
        *,
        content_type: str | None = None,
        published: datetime | None = None,
    ) -> Upload:
        """An image a local user uploaded: listed by `list_all_media`. Identical bytes
        share one stored file (pict-rs dedups), each upload gets its own alias."""
        with self.state.lock:
            return self._new_upload(self._person(person).id, data, content_type, published)

    def add_thumbnail(
        self, data: bytes, *, content_type: str | None = None, post: Post | int | None = None
    ) -> Upload:
        """An image Lemmy stored itself (a link's thumbnail). Without `post`: no
        uploader, never listed (0.19's thumbnails, and on 1.0 those migrated from 0.19).
        With `post` it becomes that post's `thumbnail_url`; on 1.0 it is then listed in
        the media list with `thumbnail_for_post_id` and the post's creator."""
        with self.state.lock:
            upload = self._new_upload(None, data, content_type, None)
            upload.listed = False
            if post is not None:
                target = self.state.posts[post if isinstance(post, int) else post.id]
                target.thumbnail_url = upload.url
                if self.v4 is not None:
                    upload.person_id = target.creator_id
                    upload.thumbnail_for_post_id = target.id
                    upload.listed = True
            return upload

    def _new_upload(self, person_id, data, content_type, published) -> Upload:
        digest = self.state.store_file(data)
        content_type = content_type or sniff_image(data) or "application/octet-stream"
        alias = new_alias(content_type)
        upload = Upload(
            alias=alias,
            sha256=digest,
            content_type=content_type,
            delete_token=secrets.token_hex(16),
            published=published or now(),
            person_id=person_id,
            url=self.image_url(alias),
        )
        self.state.uploads[alias] = upload
        return upload

    def add_remote_file(
        self, name: str, data: bytes, *, content_type: str | None = "image/jpeg"
    ) -> str:
        """Serve `data` at `/<name>` on the remote web host; returns its URL."""
        return self.remote.add(name, RemoteEntry(data=data, content_type=content_type))

    def add_remote_behaviour(
        self,
        path: str,
        data: bytes = b"",
        *,
        content_type: str | None = "image/jpeg",
        status: int = 200,
        trickle_bytes_per_s: float | None = None,
        endless: bool = False,
        redirect_to: str | None = None,
        redirects: int = 0,
        delay_s: float = 0.0,
        content_length: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> str:
        """A hostile or unusual answer at `path` on the remote host; returns its URL.

        `trickle_bytes_per_s`: the body arrives that slowly; `endless`: the body never
        ends; `redirect_to`: a redirect (302, or `status` if a 3xx) to any URL, e.g.
        http://10.0.0.1/ ; `redirects=N`: N hops on this host before the answer;
        `content_length`: a declared length that lies; `delay_s`: before the headers;
        `status`: e.g. 404; `content_type`: what the header claims (None: no header).
        """
        path = path if path.startswith("/") else "/" + path
        final = RemoteEntry(
            data=data,
            content_type=content_type,
            status=status,
            trickle_bytes_per_s=trickle_bytes_per_s,
            endless=endless,
            redirect_to=redirect_to,
            delay_s=delay_s,
            content_length=content_length,
            headers=dict(headers or {}),
        )
        if redirects <= 0:
            return self.remote.add(path, final)
        hops = [path] + [f"{path}.hop{i}" for i in range(1, redirects + 1)]
        for here, there in itertools.pairwise(hops):
            self.remote.add(here, RemoteEntry(redirect_to=f"{self.remote_url}{there}"))
        self.remote.add(hops[-1], final)
        return f"{self.remote_url}{path}"

    def add_cloaking_file(
        self,
        name: str,
        data: bytes,
        *,
        decoy: bytes | None = None,
        decoy_type: str = "text/html",
        content_type: str = "image/jpeg",
    ) -> str:
        """Serve `data` at `/<name>` on the remote host to browsers only, as a cloaking
        host does: a client whose User-Agent is not a browser's (does not start with
        `Mozilla/`, or names a bot, crawler or spider: modbot's own, pict-rs', curl's)
        gets `decoy` (an HTML page by default) as `decoy_type`. Returns its URL."""
        return self.remote.add(
            name,
            RemoteEntry(
                data=decoy if decoy is not None else hostile.html_page(),
                content_type=decoy_type,
                browser_data=data,
                browser_type=content_type,
            ),
        )

    def proxy_url(self, url: str) -> str:
        """The image proxy URL for a remote image (Lemmy now knows it): 0.19's
        `/api/v3/image_proxy?url=`, 1.0's `/api/v4/image/proxy?url=`."""
        with self.state.lock:
            if self.v4 is not None:
                return self.images_v4.proxied(url)
            self.state.proxied.setdefault(url, None)
        return f"{self.url}/api/v3/image_proxy?url={quote(url, safe='')}"

    def image_url(self, alias: str) -> str:
        """Where this Lemmy serves a local image: `/pictrs/image/<alias>` (0.19),
        `/api/v4/image/<alias>` (1.0)."""
        if self.api_version == "v4":
            return f"{self.url}/api/v4/image/{alias}"
        return self.legacy_image_url(alias)

    def legacy_image_url(self, alias: str) -> str:
        """0.19's link to a local image, still in content from before an upgrade to 1.0
        (1.0 has no route for it: 404)."""
        return f"{self.url}/pictrs/image/{alias}"

    def api_path(self, path: str) -> str:
        """The path of this Lemmy's API doing what 0.19's `path` does, for faults and
        request filters written once for both versions: `/api/v3/user/ban` is
        `/api/v4/admin/ban` on 1.0. A trailing `*` is kept."""
        if self.api_version == "v3":
            return path
        star = "*" if path.endswith("*") else ""
        base = path.rstrip("*")
        return V3_TO_V4.get(base, base.replace("/api/v3/", "/api/v4/", 1)) + star

    def edit_post(self, post_id: int, *, raw: bool = False, **fields) -> Post:
        """Change fields of a post (`body=`, `url=`, ...) as an edit does: sets `updated`
        (on 1.0 the new images are stored as `add_post` stores them, unless `raw`)."""
        with self.state.lock:
            post = self.state.posts[post_id]
            for name, value in fields.items():
                if not hasattr(post, name):
                    raise AttributeError(f"Post has no field {name!r}")
                setattr(post, name, value)
            if "url" in fields and "url_content_type" not in fields:
                post.url_content_type = self._content_type_of(post.url)
            if self.v4 is not None and not raw:
                if "url" in fields or "thumbnail_url" in fields:
                    self.images_v4.store_post(post, thumbnail_given="thumbnail_url" in fields)
                elif "body" in fields:
                    post.body = self.images_v4.markdown(post.body)
            post.updated = now()
            return post

    def edit_comment(self, comment_id: int, *, raw: bool = False, **fields) -> Comment:
        with self.state.lock:
            comment = self.state.comments[comment_id]
            for name, value in fields.items():
                if not hasattr(comment, name):
                    raise AttributeError(f"Comment has no field {name!r}")
                setattr(comment, name, value)
            if self.v4 is not None and not raw and "content" in fields:
                comment.content = self.images_v4.markdown(comment.content) or comment.content
            comment.updated = now()
            return comment

    # ------------------------------------------------------------------ faults
    def fail_next(
        self,
        path: str,
        times: int = 1,
        status: int | None = None,
        error: str | None = None,
        message: str | None = None,
        server: str = "lemmy",
    ) -> None:
        """The next `times` requests to `path` (exact; or a prefix ending in `*`) answer
        `status`: with Lemmy's JSON `{"error": error}`, else the HTML page nginx shows
        (502/503/504). `server`: "lemmy", "pictrs" or "remote". Without status and
        error: Lemmy's rate limit (0.19: 400 `rate_limit_error`; 1.0: 429
        `too_many_requests` with `Retry-After: 1`). On 1.0 an error body carries the
        `cause` Lemmy adds."""
        if self.v4 is not None and server == "lemmy":
            if error is None and status in (None, 429):
                error, status = "too_many_requests", 429
            if error is None:
                assert status is not None  # set above when neither was given
                fault = Fault(times, status, None, None)
            elif error == "too_many_requests":  # the rate limiter's: no `cause`
                fault = Fault(
                    times, status or 429, error, None, {"error": error}, {"retry-after": "1"}
                )
            else:
                body = ApiErrorV4(status or 400, error, message).body()
                fault = Fault(times, status or 400, error, message, body)
        elif error is None and status in (None, 400):
            fault = Fault(times, 400, "rate_limit_error", message)
        else:
            fault = Fault(times, status or 400, error, message)
        with self._control:
            self._faults.setdefault((server, path), []).append(fault)

    def delay(
        self, path: str, seconds: float, times: int | None = None, server: str = "lemmy"
    ) -> None:
        """Requests to `path` wait `seconds` before being answered (the next `times`
        ones, or all until `delay(path, 0)`)."""
        with self._control:
            if seconds <= 0:
                self._delays.pop((server, path), None)
            else:
                self._delays[(server, path)] = [seconds, times]

    def tamper(self, path: str, change, times: int | None = None, server: str = "lemmy") -> None:
        """Answers to `path` (exact, or a prefix ending in `*`) are computed as usual,
        then their JSON goes through `change(body) -> body` before it is sent: a broken
        item on a page, `next_page` pointing back, `posts` as an object. When `change`
        returns `str` or `bytes`, that is sent as an HTML page with the same status
        (a proxy's page answered 200). The next `times` answers, or all until
        `tamper(path, None)`."""
        self._spoil(server, path, Tamper(change, times) if change else None)

    def trickle(
        self, path: str, bytes_per_s: float, times: int | None = None, server: str = "lemmy"
    ) -> None:
        """Answers to `path` are sent with their headers at once and their body
        `bytes_per_s` bytes a second (a slow or hostile proxy); the next `times`
        answers, or all until `trickle(path, 0)`."""
        self._spoil(server, path, Trickle(bytes_per_s, times) if bytes_per_s > 0 else None)

    def _spoil(self, server: str, path: str, spoiler) -> None:
        # one spoiler per path: a tamper replaces a trickle of the same path, and back
        with self._control:
            if spoiler is None:
                self._spoilers.pop((server, path), None)
            else:
                self._spoilers[(server, path)] = spoiler

    def take_spoiler(self, server: str, path: str) -> Tamper | Trickle | None:
        with self._control:
            key = self._match(self._spoilers, server, path)
            if key is None:
                return None
            spoiler = self._spoilers[key]
            if spoiler.times is not None:
                spoiler.times -= 1
                if spoiler.times <= 0:
                    del self._spoilers[key]
            return spoiler

    def hold(self, path: str, server: str = "lemmy") -> None:
        """Requests to `path` (exact, or a prefix ending in `*`) arrive (they are recorded)
        and wait, unanswered and not yet carried out, until `release(path)`: a request
        in flight for as long as a test needs."""
        with self._control:
            self._holds[(server, path)] = threading.Event()

    def release(self, path: str, server: str = "lemmy") -> None:
        with self._control:
            held = self._holds.pop((server, path), None)
        if held is not None:
            held.set()

    def take_hold(self, server: str, path: str) -> threading.Event | None:
        with self._control:
            key = self._match(self._holds, server, path)
            return None if key is None else self._holds[key]

    def invalidate_tokens(self, name: str) -> int:
        """Drop every login of `name` (as a logout or password change does): reads go
        on silently as anonymous, actions answer 401. Returns how many were dropped."""
        with self.state.lock:
            person = self.state.person_by_name(name)
            if person is None:
                raise KeyError(f"no person named {name!r}")
            dropped = [t for t, owner in self.state.tokens.items() if owner == person.id]
            for token in dropped:
                del self.state.tokens[token]
                self.state.token_expires.pop(token, None)
            return len(dropped)

    def age_tokens(self, by: timedelta) -> int:
        """Time passes for the logins: every token that expires (1.0, a login without
        `stay_logged_in`: one week) expires `by` earlier. Returns how many expired now."""
        with self.state.lock:
            for token in list(self.state.token_expires):
                self.state.token_expires[token] -= by
            return sum(1 for when in self.state.token_expires.values() if when <= now())

    def _match(self, table: dict, server: str, path: str):
        entry = table.get((server, path))
        if entry is not None:
            return (server, path)
        for srv, pattern in table:
            if srv == server and pattern.endswith("*") and path.startswith(pattern[:-1]):
                return (srv, pattern)
        return None

    def take_fault(self, server: str, path: str, *, gateway: bool | None = None) -> Fault | None:
        """The next fault queued for ``path``; with ``gateway``, only if it is (True) or
        is not (False) a gateway's page: the other kind stays queued."""
        with self._control:
            key = self._match(self._faults, server, path)
            if key is None:
                return None
            queue = self._faults[key]
            fault = queue[0]
            if gateway is not None and fault.gateway != gateway:
                return None
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
                if not queue:
                    del self._faults[key]
            return fault

    def take_delay(self, server: str, path: str) -> float:
        with self._control:
            key = self._match(self._delays, server, path)
            if key is None:
                return 0.0
            seconds, times = self._delays[key]
            if times is not None:
                if times <= 1:
                    del self._delays[key]
                else:
                    self._delays[key][1] = times - 1
            return seconds

    # ------------------------------------------------------------------ inspection
    def record(self, record: RequestRecord) -> None:
        with self._control:
            self._requests.append(record)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request to any of the three hosts, oldest first (`.server` says which)."""
        with self._control:
            return list(self._requests)

    def mutating_requests(self) -> list[RequestRecord]:
        """Requests to Lemmy or pict-rs that can change state: every POST/PUT/DELETE
        (answered or refused; on 1.0 `DELETE /api/v4/image` too) but login, plus
        `GET /pictrs/image/delete/...`. Reads that only mark posts read (a logged-in
        `GET /post` on 0.19 and 1.0, a 1.0 `post/list` with `mark_as_read`) are not
        counted here: see `read_marking_requests()`."""
        return [
            r
            for r in self.requests
            if r.server in ("lemmy", "pictrs")
            and r.path not in NOT_MUTATING
            and (r.method not in READ_METHODS or r.path.startswith("/pictrs/image/delete/"))
        ]

    def read_marking_requests(self) -> list[RequestRecord]:
        """Reads that marked posts read for the caller (0.19 and 1.0: `GET /post` with a
        login; 1.0: a `GET /post/list` with `mark_as_read` or the account's auto-mark
        setting)."""
        return [r for r in self.requests if r.marked_read]

    def ignored_field_requests(self) -> list[RequestRecord]:
        """1.0 requests carrying fields their type does not have (Lemmy drops them
        silently: a v3 `page`, `remove_data`, `expires`); `.ignored_fields` names them."""
        return [r for r in self.requests if r.ignored_fields]

    def note_ignored(self, request: Request, fields: list[str]) -> None:
        record = request.scope.get("fakelemmy.record")
        if record is not None and fields:
            record.ignored_fields = list(fields)

    def note_read_marks(self, request: Request) -> None:
        record = request.scope.get("fakelemmy.record")
        if record is not None:
            record.marked_read = True

    def clear_requests(self) -> None:
        with self._control:
            self._requests.clear()

    def post(self, post_id: int) -> Post:
        return self.state.posts[post_id]

    def comment(self, comment_id: int) -> Comment:
        return self.state.comments[comment_id]

    def person(self, person_id: int) -> Person:
        return self.state.persons[person_id]

    def community(self, community_id: int) -> Community:
        return self.state.communities[community_id]

    def upload(self, alias: str) -> Upload:
        return self.state.uploads[alias]

    @property
    def reports(self) -> list[Report]:
        with self.state.lock:
            return list(self.state.reports)

    @property
    def private_messages(self) -> list[PrivateMessage]:
        with self.state.lock:
            return list(self.state.private_messages)

    @property
    def community_bans(self) -> dict[tuple[int, int], CommunityBan]:
        """(community id, person id) -> ban."""
        with self.state.lock:
            return dict(self.state.community_bans)

    @property
    def purged_images(self) -> list[str]:
        """Aliases (and `proxy` URLs) pict-rs purged, in order."""
        with self.state.lock:
            return list(self.state.purged_images)

    @property
    def modlog(self) -> list[ModAction]:
        with self.state.lock:
            return list(self.state.modlog)

    @property
    def notifications(self) -> list[Notification]:
        """1.0's inbox entries (private messages, moderators' actions on a person)."""
        with self.state.lock:
            return list(self.state.notifications)

    @property
    def site(self) -> SiteSettings:
        """The instance's live settings (content warning, default time range, ...)."""
        return self.state.site

    def set_sidebar(self, text: str | None) -> None:
        """The site's sidebar (Markdown), as an admin saves it: on 1.0 its images are
        rewritten as when stored (`process_markdown_opt` in the site's create/edit)."""
        with self.state.lock:
            if self.v4 is not None:
                text = self.images_v4.markdown(text)
            self.state.site.sidebar = text

    def image_exists(self, alias: str) -> bool:
        """Whether pict-rs still serves `alias`."""
        with self.state.lock:
            upload = self.state.uploads.get(alias)
            return bool(upload and not upload.deleted and upload.sha256 in self.state.files)

    # ------------------------------------------------------------------ internals
    def _person(self, person: Person | int) -> Person:
        return self.state.persons[person if isinstance(person, int) else person.id]

    def _community(self, community: Community | int) -> Community:
        return self.state.communities[community if isinstance(community, int) else community.id]

    def _content_type_of(self, url: str | None) -> str | None:
        alias = alias_of_local_url(self.url, url)
        if alias and alias in self.state.uploads:
            return self.state.uploads[alias].content_type
        return None

    def token_of(self, headers, cookies) -> str | None:
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return cookies.get("jwt")

    def person_of_token(self, token: str | None) -> Person | None:
        """The person a token logs in, or None (anonymous). 1.0: expired tokens are
        anonymous, banned persons keep their logins."""
        if not token:
            return None
        with self.state.lock:
            person = self.state.persons.get(self.state.tokens.get(token, -1))
            expires = self.state.token_expires.get(token)
            if person is None or person.purged or person.deleted:
                return None
            if expires is not None and expires <= now():
                return None
            if person.banned and self.v4 is None:
                return None
            return person

    def viewer_of(self, request: Request) -> Person | None:
        return self.person_of_token(self.token_of(request.headers, request.cookies))

    def user_of_scope(self, scope) -> str | None:
        request = Request(scope)
        person = self.viewer_of(request)
        return person.name if person else None

    def purge_alias(self, alias: str) -> list[str]:
        """What Lemmy does through pict-rs' purge: all aliases of the same bytes go."""
        with self.state.lock:
            upload = self.state.uploads.get(alias)
            if upload is None or upload.deleted:
                return []
            return self.state.purge_file(upload.sha256)

    def _endpoint(self, handler):
        async def endpoint(request: Request):
            raw = await request.body()
            try:
                try:
                    data = json.loads(raw) if raw else {}
                except ValueError as exc:
                    raise ApiError(400, "unknown", f"Json deserialize error: {exc}") from None
                if not isinstance(data, dict):
                    raise ApiError(400, "unknown", "Json deserialize error: expected an object")
                viewer = self.viewer_of(request)
                ctx = Ctx(request, Query(dict(request.query_params)), Body(data), viewer)
                with self.state.lock:
                    result = handler(ctx)
                return JSONResponse(result)
            except ApiError as error:
                return JSONResponse(error.body(), status_code=error.status)

        return endpoint
