"""`FakeLemmy`: a Lemmy 0.19 + pict-rs instance and a remote web host, in-process.

Build it, add a scenario (persons, communities, posts, comments, uploads, remote
files), start it, point the bot at `url`; add more content between polls; inspect
`requests`, `mutating_requests()` and the state objects afterwards. See the section
"The fake Lemmy" in docs/ARCHITECTURE.md for the whole API.
"""

from __future__ import annotations

import json
import secrets
import threading
from datetime import datetime
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from fakelemmy.lemmy_api import Ctx, LemmyApi, nodeinfo_routes
from fakelemmy.params import ApiError, Body, Query
from fakelemmy.pictrs import Pictrs, alias_of_local_url, sniff_image
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
from fakelemmy.upload import Uploads, Validation
from fakelemmy.state import (
    Comment,
    Community,
    CommunityBan,
    ModAction,
    Person,
    Post,
    PrivateMessage,
    Report,
    State,
    Upload,
    now,
)
from fakelemmy.views import Views

# Methods that never change state; GET /pictrs/image/delete/... is the one GET that does.
READ_METHODS = ("GET", "HEAD", "OPTIONS")
NOT_MUTATING = ("/api/v3/user/login",)  # login only issues a token (a dry run logs in too)


class FakeLemmy:
    """A live, mutable, thread-safe fake instance. Use as a context manager or
    `start()`/`stop()`. URLs are fixed from construction on."""

    def __init__(
        self,
        *,
        version: str = "0.19.9",
        rate_limit: tuple[int, float] | None = (180, 60),
        login_rate_limit: tuple[int, float] | None = (10, 3600),
        external_validation: str | None = None,
    ) -> None:
        self.version = version
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
        self.rate_limiter = RateLimiter({"message": rate_limit, "register": login_rate_limit})
        self.pictrs_api_key = secrets.token_hex(16)

        sockets = [bind_socket() for _ in range(3)]
        ports = [s.getsockname()[1] for s in sockets]
        self.url, self.pictrs_url, self.remote_url = (f"http://127.0.0.1:{p}" for p in ports)
        self.views = Views(
            self.state, self.url, version, {"message": rate_limit, "register": login_rate_limit}
        )
        self.remote = RemoteWeb(self)
        self.api = LemmyApi(self)
        self.pictrs = Pictrs(self)
        self.uploads = Uploads(self)
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
    ) -> Person:
        """A person; `local=False` with `instance="remote.example"` for a federated one
        (remote persons cannot log in and are never admins of this instance)."""
        domain = self.url.split("//", 1)[1] if local else (instance or "remote.example")
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
            self.state.persons[person.id] = person
        return person

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
    ) -> Community:
        domain = self.url.split("//", 1)[1] if local else (instance or "remote.example")
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
            )
            self.state.communities[community.id] = community
        return community

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
    ) -> Post:
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
                ap_id=f"{self.url}/post/{post_id}"
                if is_local
                else f"https://{creator.instance}/post/{post_id}",
            )
            self.state.posts[post.id] = post
        return post

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
    ) -> Comment:
        with self.state.lock:
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

    def add_thumbnail(self, data: bytes, *, content_type: str | None = None) -> Upload:
        """An image Lemmy stored itself (a link's thumbnail): no uploader, not listed."""
        with self.state.lock:
            upload = self._new_upload(None, data, content_type, None)
            upload.listed = False
            return upload

    def _new_upload(self, person_id, data, content_type, published) -> Upload:
        digest = self.state.store_file(data)
        content_type = content_type or sniff_image(data) or "application/octet-stream"
        extension = content_type.rsplit("/", 1)[-1].replace("jpeg", "jpg")
        alias = f"{secrets.token_hex(16)}.{extension}"
        upload = Upload(
            alias=alias,
            sha256=digest,
            content_type=content_type,
            delete_token=secrets.token_hex(16),
            published=published or now(),
            person_id=person_id,
            url=f"{self.url}/pictrs/image/{alias}",
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
        for here, there in zip(hops, hops[1:]):
            self.remote.add(here, RemoteEntry(redirect_to=f"{self.remote_url}{there}"))
        self.remote.add(hops[-1], final)
        return f"{self.remote_url}{path}"

    def proxy_url(self, url: str) -> str:
        """The `/api/v3/image_proxy?url=` URL for a remote image (Lemmy now knows it)."""
        with self.state.lock:
            self.state.proxied.setdefault(url, None)
        return f"{self.url}/api/v3/image_proxy?url={quote(url, safe='')}"

    def edit_post(self, post_id: int, **fields) -> Post:
        """Change fields of a post (`body=`, `url=`, ...) as an edit does: sets `updated`."""
        with self.state.lock:
            post = self.state.posts[post_id]
            for name, value in fields.items():
                if not hasattr(post, name):
                    raise AttributeError(f"Post has no field {name!r}")
                setattr(post, name, value)
            if "url" in fields and "url_content_type" not in fields:
                post.url_content_type = self._content_type_of(post.url)
            post.updated = now()
            return post

    def edit_comment(self, comment_id: int, **fields) -> Comment:
        with self.state.lock:
            comment = self.state.comments[comment_id]
            for name, value in fields.items():
                if not hasattr(comment, name):
                    raise AttributeError(f"Comment has no field {name!r}")
                setattr(comment, name, value)
            comment.updated = now()
            return comment

    # ------------------------------------------------------------------ faults
    def fail_next(
        self,
        path: str,
        times: int = 1,
        status: int = 400,
        error: str | None = None,
        message: str | None = None,
        server: str = "lemmy",
    ) -> None:
        """The next `times` requests to `path` (exact; or a prefix ending in `*`) answer
        `status`: with Lemmy's JSON `{"error": error}` (for a 400 without `error`:
        `rate_limit_error`), else the HTML page nginx shows (502/503/504). `server`:
        "lemmy", "pictrs" or "remote"."""
        if status == 400 and error is None:
            error = "rate_limit_error"
        with self._control:
            self._faults.setdefault((server, path), []).append(Fault(times, status, error, message))

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
            return len(dropped)

    def _match(self, table: dict, server: str, path: str):
        entry = table.get((server, path))
        if entry is not None:
            return (server, path)
        for srv, pattern in table:
            if srv == server and pattern.endswith("*") and path.startswith(pattern[:-1]):
                return (srv, pattern)
        return None

    def take_fault(self, server: str, path: str) -> Fault | None:
        with self._control:
            key = self._match(self._faults, server, path)
            if key is None:
                return None
            queue = self._faults[key]
            fault = queue[0]
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
        (answered or refused) but login, plus `GET /pictrs/image/delete/...`."""
        return [
            r
            for r in self.requests
            if r.server in ("lemmy", "pictrs")
            and r.path not in NOT_MUTATING
            and (r.method not in READ_METHODS or r.path.startswith("/pictrs/image/delete/"))
        ]

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
        if not token:
            return None
        with self.state.lock:
            person = self.state.persons.get(self.state.tokens.get(token, -1))
            if person is None or person.purged or person.deleted or person.banned:
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

    def purge_local_image(self, url: str | None) -> None:
        alias = alias_of_local_url(self.url, url)
        if alias is None:
            return
        self.purge_alias(alias)
        upload = self.state.uploads.get(alias)
        if upload is not None:
            upload.listed = False  # Lemmy deletes its local_image row too

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
