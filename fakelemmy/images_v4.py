"""Images on a Lemmy 1.0 instance: where content's image URLs point, and their routes.

Write time (`ImagesV4.store_post`, `markdown`, `link`), in the site's `image_mode`
(1.0's default `proxy_all_images`; source: LemmyNet/lemmy 1.0.0-beta.1
`api_utils/src/request.rs` `generate_post_link_metadata`, `utils.rs`
`proxy_image_link`, `utils/src/utils/markdown/image_links.rs`):

- a remote image post's `url` becomes `<instance>/api/v4/image/proxy?url=<pct-encoded>`;
- its thumbnail is that plus `&max_size=512`, except on an NSFW post of a site without
  `content_warning` (no thumbnail is generated: the raw remote URL); a local image post's
  thumbnail is its `url`; in `store_link_previews` Lemmy stores a copy in pict-rs,
  listed in the media list with `thumbnail_for_post_id` and the post's creator;
- markdown images `![a](url "t")` on another host are rewritten when stored (body,
  comment, bio, sidebar); an image URL `Url::parse` rejects (a relative one) becomes
  "", one without a host that parses (a `data:` URI) is proxied as any other;
- URLs on the instance's own host are never rewritten; every proxied URL is registered
  (Lemmy's `remote_image` table), which is what makes `/api/v4/image/proxy` answer.

Routes on the Lemmy host: `GET /api/v4/image/{filename}` (`file_type`, `max_size`; 0.19's
`format`/`thumbnail` are unknown fields, ignored) and `GET /api/v4/image/proxy?url=`.
0.19's `/pictrs/image/…` and `/api/v3/image_proxy` have no route on 1.0 (404). Both
answer an empty 401 to a request without a login when the instance is private and does
not federate (`site.private_instance`, `site.federation_enabled` false).
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from fakelemmy.params_v4 import ApiErrorV4, lemmy_error, read_query
from fakelemmy.pictrs import render_thumbnail, sniff_image
from fakelemmy.state import Post

# pict-rs' processable types (Lemmy's PictrsFileType); an unknown one falls back to jpg
FILE_TYPES = ("apng", "avif", "gif", "jpg", "jxl", "png", "webp")
RENDERABLE = ("jpg", "png", "webp")

# ![alt](url "title"): the URL (maybe in <>) and what follows it inside the parentheses
MARKDOWN_IMAGE = re.compile(
    r"!\[(?:[^\]\\]|\\.)*\]\(\s*(<[^>]*>|[^\s)]+)"
    r"(\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"
)
FENCE = re.compile(r"^\s{0,3}(```|~~~)")


# A URL's scheme, and the "special" ones (WHATWG) that must have a host
SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):(.*)$", re.S)
SPECIAL = ("http", "https", "ws", "wss", "ftp")


def _parses(url: str) -> bool:
    """Whether Rust's `Url::parse` takes `url` as an absolute URL: a relative one
    (`/pictrs/...`, `a.png`) fails, a `data:` or `mailto:` URI parses (no host)."""
    found = SCHEME.match(url.strip())
    if found is None:
        return False
    scheme, rest = found.group(1).lower(), found.group(2)
    if scheme in SPECIAL:
        try:
            parts = urlsplit("//" + rest.lstrip("/\\"))
            return bool(parts.hostname) and (parts.port is None or parts.port > 0)
        except ValueError:  # a bad port or IPv6 literal
            return False
    return True


class ImagesV4:
    """Image handling of one v4 `FakeLemmy`."""

    def __init__(self, fake) -> None:
        self.fake = fake
        self.state = fake.state

    # ------------------------------------------------------------ write time
    @property
    def proxying(self) -> bool:
        return self.state.site.image_mode == "proxy_all_images"

    def is_own(self, url: str) -> bool:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" == self.fake.url

    def proxied(self, url: str, thumbnail: bool = False) -> str:
        """The proxy URL of `url` (Lemmy's `build_proxied_image_url`); registers it."""
        self.state.proxied.setdefault(url, None)
        proxied = f"{self.fake.url}/api/v4/image/proxy?url={quote(url, safe='')}"
        if thumbnail:
            proxied += f"&max_size={self.state.site.image_max_thumbnail_size}"
        return proxied

    def link(self, url: str | None, thumbnail: bool = False) -> str | None:
        """What Lemmy stores for an image link (`proxy_image_link`)."""
        if url is None or self.is_own(url) or not self.proxying:
            return url
        return self.proxied(url, thumbnail)

    def content_type(self, url: str | None) -> str | None:
        """What Lemmy's metadata fetch of `url` sees: the local upload's type, the remote
        host's answer, or None (unreachable: the fake knows no other host)."""
        if url is None:
            return None
        alias = self.alias_of(url)
        if alias is not None:
            upload = self.state.uploads.get(alias)
            return upload.content_type if upload else None
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" == self.fake.remote_url:
            entry = self.fake.remote.get(parts.path)
            if entry is not None and entry.status == 200 and entry.redirect_to is None:
                return entry.content_type
        return None

    def alias_of(self, url: str | None) -> str | None:
        """The alias of a local image URL: `/api/v4/image/<alias>`, or 0.19's
        `/pictrs/image/<alias>` (content from before the upgrade)."""
        if not url or not self.is_own(url):
            return None
        path = urlsplit(url).path
        for prefix in ("/api/v4/image/", "/pictrs/image/"):
            if path.startswith(prefix) and path != "/api/v4/image/proxy":
                return path.rsplit("/", 1)[-1] or None
        return None

    def store_post(self, post: Post, thumbnail_given: bool) -> None:
        """Set `url`, `thumbnail_url`, `url_content_type`, `body` as Lemmy 1.0 stores a
        new post. `thumbnail_given`: the scenario set the thumbnail Lemmy stored."""
        creator = self.state.persons[post.creator_id]
        site = self.state.site
        content_type = post.url_content_type or self.content_type(post.url)
        post.url_content_type = content_type
        is_image = bool(post.url and content_type and content_type.startswith("image"))
        allow_thumbnail = site.content_warning is not None or not post.nsfw
        original = post.url
        if is_image:
            post.url = self.link(post.url)
        if thumbnail_given and post.thumbnail_url:
            # the thumbnail Lemmy stored: a link post's own thumbnail is always proxied;
            # an image post's is not made for an NSFW post (the raw URL stays)
            if not is_image or allow_thumbnail:
                post.thumbnail_url = self.link(post.thumbnail_url, thumbnail=True)
        elif is_image and allow_thumbnail and original is not None:
            post.thumbnail_url = self.thumbnail(post, original, creator.id)
        elif is_image:
            post.thumbnail_url = original  # no thumbnail generated: the raw remote URL
        if post.body is not None:
            post.body = self.markdown(post.body)

    def thumbnail(self, post: Post, image_url: str, creator_id: int) -> str:
        """`generate_pictrs_thumbnail` in the site's image mode."""
        mode = self.state.site.image_mode
        if mode == "none" or self.is_own(image_url):
            return image_url
        if mode == "proxy_all_images":
            return self.proxied(image_url, thumbnail=True)
        data = self.fake.remote.fetch_for_proxy(image_url)  # store_link_previews
        if data is None:
            return image_url
        upload = self.fake._new_upload(creator_id, data, None, None)
        upload.thumbnail_for_post_id = post.id
        return upload.url

    def markdown(self, text: str | None) -> str | None:
        """`markdown_rewrite_image_links` (outside fenced code), when proxying."""
        if text is None or not self.proxying:
            return text
        out, fenced = [], False
        for line in text.splitlines(keepends=True):
            if FENCE.match(line):
                fenced = not fenced
                out.append(line)
                continue
            out.append(line if fenced else MARKDOWN_IMAGE.sub(self._rewrite_image, line))
        return "".join(out)

    def _rewrite_image(self, match: re.Match) -> str:
        url = match.group(1).strip("<>")
        start, end = match.span(1)
        whole = match.group(0)
        offset = match.start(0)
        if not _parses(url):
            replacement = ""  # Lemmy drops an image URL `Url::parse` rejects
        elif self.is_own(url):
            self.state.proxied.setdefault(url, None)
            return whole
        else:
            replacement = self.proxied(url)
        return whole[: start - offset] + replacement + whole[end - offset :]

    # ------------------------------------------------------------ routes
    def _serve(self, data: bytes, content_type: str, params, name: str) -> Response:
        file_type, max_size = params["file_type"], params["max_size"]
        if file_type is None and max_size is None:
            return Response(data, media_type=content_type)
        wanted = (file_type or name.rsplit(".", 1)[-1]).lower()
        wanted = wanted if wanted in FILE_TYPES else "jpg"
        rendered = None
        if wanted in RENDERABLE:
            rendered = render_thumbnail(data, max_size or 100_000, wanted)
        if rendered is None:
            return JSONResponse(
                {"msg": "Error in processing", "code": "processing-error"}, status_code=400
            )
        return Response(rendered[0], media_type=rendered[1])

    async def image(self, request: Request) -> Response:
        name = request.path_params["filename"]
        try:
            params, ignored = read_query("ImageGetParams", dict(request.query_params))
        except ApiErrorV4 as error:
            return JSONResponse(error.body(), status_code=error.status)
        self.fake.note_ignored(request, ignored)
        if self._login_required(request):
            return Response(status_code=401)
        with self.state.lock:
            upload = self.state.uploads.get(name)
            data = None
            if upload is not None and not upload.deleted:
                data = self.state.files.get(upload.sha256)
            content_type = upload.content_type if upload else ""
        if data is None:
            return Response(status_code=404)  # pict-rs' 404 becomes an empty 404
        return self._serve(data, content_type, params, name)

    async def proxy(self, request: Request) -> Response:
        try:
            params, ignored = read_query("ImageProxyParams", dict(request.query_params))
            if self._login_required(request):
                return Response(status_code=401)
            url = params["url"]
            parts = urlsplit(url)
            if not (parts.scheme and parts.netloc):
                raise ApiErrorV4(400, "unknown", "relative URL without a base")
        except ApiErrorV4 as error:
            return JSONResponse(error.body(), status_code=error.status)
        self.fake.note_ignored(request, ignored)
        with self.state.lock:
            if url not in self.state.proxied:
                missing = lemmy_error("not_found")
                return JSONResponse(missing.body(), status_code=missing.status)
            if parts.hostname in self.state.site.image_proxy_bypass_domains:
                return RedirectResponse(url, status_code=307)
            digest = self.state.proxied[url]
            data = self.state.files.get(digest) if digest else None
        if data is None:
            data = self.fake.remote.fetch_for_proxy(url)
            if data is None:
                return JSONResponse(
                    {"msg": f"Failed to fetch {url}", "code": "proxy-fetch-error"},
                    status_code=400,
                )
            # pict-rs ingests a proxied file like an upload, under an alias of its own
            # (what /internal/hashes lists and /internal/purge?proxy= removes): 1.0 asks
            # pict-rs for `image/original?proxy=` as 0.19 does, so the same ingest, limited
            # in size, then validated; Lemmy passes pict-rs' refusal on (download.rs)
            from fakelemmy.upload import too_large, validate

            refused = too_large(data, self.fake.uploads.max_file_size, proxied=True)
            if refused is None:
                refused = await validate(self.fake, data, sniff_image(data) or "image/jpeg")
            if refused is not None:
                return refused
            self.fake.pictrs.cache_proxied(url, data)
        content_type = sniff_image(data) or "application/octet-stream"
        return self._serve(data, content_type, params, parts.path)

    def _login_required(self, request: Request) -> bool:
        """1.0's ``is_auth_required``: a private instance that does not federate shows
        its images (and its proxy's) to logged-in users only, with an empty 401."""
        site = self.state.site
        return (
            site.private_instance
            and not site.federation_enabled
            and self.fake.viewer_of(request) is None
        )

    def routes(self) -> list[Route]:
        return [
            Route("/api/v4/image/proxy", self.proxy, methods=["GET"]),
            Route("/api/v4/image/{filename}", self.image, methods=["GET"]),
        ]
