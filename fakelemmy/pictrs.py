"""pict-rs behind the fake: image serving on the Lemmy host, the internal API on its own port.

On the Lemmy host (as Lemmy proxies it): `GET /pictrs/image/{alias}` (with
`?thumbnail=N&format=jpg` a resized copy), `GET /pictrs/image/delete/{token}/{alias}`,
`GET /api/v3/image_proxy?url=` (the first fetch caches the remote file in pict-rs under an
alias of its own, as pict-rs' `?proxy=` does); a private instance (`site.private_instance`)
answers `/pictrs/image/{alias}` an empty 401 without a login, not its image proxy. On the
pict-rs port, as pict-rs 0.5 answers
(docs: /work/notes/pictrs.md, sections 2-5): `POST /internal/purge?alias=|proxy=`,
`POST /internal/delete?alias=|proxy=`, `GET /internal/aliases?alias=`,
`GET /internal/hashes` (paged by `slug`/`timestamp`/`limit`, newest first, `hex` = sha256
of the stored file + its size + a format byte), `GET /image/original/{alias}`,
`GET /image/process.{ext}?src=&thumbnail=`; all `/internal/*` behind the `X-Api-Token`
header (401 `invalid-api-token` otherwise).
"""

from __future__ import annotations

import base64
import io
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakelemmy.params import ApiError


def _pictrs_error(status: int, msg: str, code: str) -> Response:
    return JSONResponse({"msg": msg, "code": code}, status_code=status)


def _alias_not_found() -> Response:
    return _pictrs_error(404, "Requested a file that doesn't exist", "alias-not-found")


def _proxy_not_found() -> Response:
    return _pictrs_error(404, "Media has not been proxied", "proxy-not-found")


def _invalid_query(msg: str) -> Response:
    return _pictrs_error(400, msg, "invalid-query")


# pict-rs' stored format -> (alias extension, format byte of the hash, ApiFormat)
FORMATS: dict[str, tuple[str, int, str]] = {
    "image/apng": (".apng", 0, "Animation"),
    "image/gif": (".gif", 2, "Animation"),
    "image/avif": (".avif", 4, "Image"),
    "image/jpeg": (".jpeg", 5, "Image"),
    "image/jxl": (".jxl", 6, "Image"),
    "image/png": (".png", 7, "Image"),
    "image/webp": (".webp", 8, "Image"),
    "video/mp4": (".mp4", 9, "Video"),
    "video/webm": (".webm", 10, "Video"),
}


def new_alias(content_type: str) -> str:
    """`<uuid4><ext>` with the stored format's extension, as pict-rs names a file."""
    known = FORMATS.get(content_type)
    extension = known[0] if known else "." + content_type.rsplit("/", 1)[-1]
    return f"{uuid.uuid4()}{extension}"


def hash_bytes(sha256: str, size: int, content_type: str) -> bytes:
    """pict-rs' 39-byte hash: sha256 of the stored file, size (48-bit BE), format byte."""
    known = FORMATS.get(content_type)
    return bytes.fromhex(sha256) + size.to_bytes(6, "big") + bytes([known[1] if known else 5])


def slug_of(raw: bytes) -> str:
    """The paging cursor of `/internal/hashes`: URL-safe base64 of the 39 bytes."""
    return base64.urlsafe_b64encode(raw).decode()


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def sniff_image(data: bytes) -> str | None:
    """The media type pict-rs would store, or None when the bytes are no image."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            return Image.MIME.get(image.format or "", None)
    except Exception:  # any decode failure means "not media" to pict-rs
        return None


def render_thumbnail(data: bytes, size: int, fmt: str) -> tuple[bytes, str] | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((size, size))
            out = io.BytesIO()
            pil_format = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[fmt]
            (image.convert("RGB") if pil_format == "JPEG" else image).save(out, pil_format)
            return out.getvalue(), f"image/{'jpeg' if pil_format == 'JPEG' else fmt}"
    except Exception:  # pict-rs answers 400 for media it cannot process
        return None


class Pictrs:
    """Image routes of one `FakeLemmy`."""

    def __init__(self, fake) -> None:
        self.fake = fake
        self.state = fake.state
        self._details_cache: dict[str, dict] = {}  # sha256 -> details (files never change)
        # the listing of /internal/hashes, kept while the store is unchanged: building it
        # is O(files), and a walk asks for it once a page (quadratic on a large store)
        self._listing: tuple[tuple, list, dict[str, int]] | None = None
        # pict-rs' repo, for a `timestamp=` page with no file older: "sled" answers an
        # empty page, "postgres" the newest page (hash_page_by_date -> hashes_ordered(None))
        self.repo = "sled"
        # how long external validation took: a file's details (made before it) are that
        # much older than the created_at it is listed by (create_hash, after it)
        self.validation = timedelta(0)

    # ------------------------------------------------------------ on the Lemmy host
    def serve_alias(self, alias: str, params) -> Response:
        with self.state.lock:
            upload = self.state.uploads.get(alias)
            data = None
            if upload is not None and not upload.deleted:
                data = self.state.files.get(upload.sha256)
            content_type = upload.content_type if upload else ""
        if data is None:
            return Response(status_code=404)  # Lemmy's own empty 404, as pict-rs' original
        size = params.get("thumbnail")
        if size is not None:
            fmt = params.get("format", "jpg")
            rendered = (
                render_thumbnail(data, int(size), fmt)
                if size.isdigit() and fmt in ("jpg", "jpeg", "png", "webp")
                else None
            )
            if rendered is None:
                return _pictrs_error(400, "Error in processing", "processing-error")
            data, content_type = rendered
        return Response(data, media_type=content_type)

    async def image(self, request: Request) -> Response:
        # 0.19's full_res: a private instance shows its images to logged-in users only
        # (an empty 401; its image_proxy has no such check)
        if self.state.site.private_instance and self.fake.viewer_of(request) is None:
            return Response(status_code=401)
        return self.serve_alias(request.path_params["alias"], request.query_params)

    async def delete(self, request: Request) -> Response:
        viewer = self.fake.viewer_of(request)
        token, alias = request.path_params["token"], request.path_params["alias"]
        if viewer is None:
            return JSONResponse({"error": "incorrect_login"}, status_code=401)
        with self.state.lock:
            upload = self.state.uploads.get(alias)
            if upload is None or upload.deleted:
                return _pictrs_error(404, "Requested a file that doesn't exist", "not-found")
            if not viewer.admin and upload.person_id != viewer.id:  # 0.19.12+
                return JSONResponse({"error": "not_an_admin"}, status_code=400)
            if upload.delete_token != token:
                return _pictrs_error(403, "Invalid delete token", "invalid-delete-token")
            self.state.delete_alias(alias)
            upload.listed = False
        return Response(status_code=204)

    async def image_proxy(self, request: Request) -> Response:
        url = request.query_params.get("url")
        if url is None:
            error = ApiError(400, "unknown", "Query deserialize error: missing field `url`")
            return JSONResponse(error.body(), status_code=400)
        with self.state.lock:
            if url not in self.state.proxied:
                return JSONResponse(
                    {"error": "unknown", "message": "Record not found"}, status_code=404
                )
            digest = self.state.proxied[url]
            data = self.state.files.get(digest) if digest else None
        if data is None:
            fetched = self.fake.remote.fetch_for_proxy(url)
            if fetched is None:
                return JSONResponse(
                    {
                        "error": "pictrs_response_error",
                        "message": f"pict-rs could not fetch a valid image from {url}",
                    },
                    status_code=400,
                )
            data = fetched
            # the first fetch is an ingest: limited in size, then validated
            from fakelemmy.upload import too_large, validate

            refused = too_large(data, self.fake.uploads.max_file_size, proxied=True)
            if refused is None:
                refused = await validate(self.fake, data, sniff_image(data) or "image/jpeg")
            if refused is not None:  # Lemmy passes pict-rs' answer on to the browser
                return refused
            self.cache_proxied(url, data)
        return Response(data, media_type=sniff_image(data) or "application/octet-stream")

    def cache_proxied(self, url: str, data: bytes) -> str:
        """pict-rs ingests a proxied file like an upload: an alias of its own (no
        uploader, no row in Lemmy's `local_image`), related to `url`. Returns the alias."""
        from fakelemmy.state import Upload, now

        content_type = sniff_image(data) or "application/octet-stream"
        with self.state.lock:
            digest = self.state.store_file(data)
            self.state.proxied[url] = digest
            alias = new_alias(content_type)
            self.state.uploads[alias] = Upload(
                alias=alias,
                sha256=digest,
                content_type=content_type,
                delete_token=uuid.uuid4().hex,
                published=now(),
                person_id=None,
                url=f"{self.fake.url}/pictrs/image/{alias}",
                listed=False,
                proxy=url,
            )
        return alias

    def lemmy_routes(self) -> list[Route]:
        return [
            Route("/pictrs/image/delete/{token}/{alias}", self.delete),
            Route("/pictrs/image/{alias}", self.image),
            Route("/api/v3/image_proxy", self.image_proxy),
        ]

    # ------------------------------------------------------------ the pict-rs port
    def _authorized(self, request: Request) -> bool:
        return request.headers.get("x-api-token") == self.fake.pictrs_api_key

    def _unauthorized(self) -> Response:
        return _pictrs_error(401, "Invalid API Key", "invalid-api-token")

    def _file_of(self, params) -> tuple[str | None, Response | None]:
        """The sha256 an `alias=` or `proxy=` query names (pict-rs tries `proxy` first),
        or the error pict-rs answers."""
        proxy, alias = params.get("proxy"), params.get("alias")
        with self.state.lock:
            if proxy is not None:
                cached = self.state.alias_of_proxy(proxy)
                if cached is None:
                    return None, _proxy_not_found()
                return self.state.uploads[cached].sha256, None
            if alias is not None:
                upload = self.state.uploads.get(alias)
                if upload is None or upload.deleted:
                    return None, _alias_not_found()
                return upload.sha256, None
        return None, _invalid_query("data did not match any variant of untagged enum AliasQuery")

    async def internal_purge(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._unauthorized()
        digest, error = self._file_of(request.query_params)
        if digest is None:
            return error or _alias_not_found()
        with self.state.lock:
            # pict-rs dedups by hash: every alias of these bytes goes, Lemmy's rows stay
            aliases = self.state.purge_file(digest)
            proxy = request.query_params.get("proxy")
            if proxy is not None:
                self.state.purged_images.append(proxy)
        return JSONResponse({"msg": "ok", "aliases": aliases})

    async def internal_delete(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._unauthorized()
        params = request.query_params
        if params.get("proxy") is not None:
            alias = self.state.alias_of_proxy(params["proxy"])
            if alias is None:
                return _proxy_not_found()
        elif params.get("alias") is not None:
            alias = params["alias"]
        else:
            return _invalid_query("data did not match any variant of untagged enum AliasQuery")
        if not self.state.delete_alias(alias):
            return Response(status_code=404)  # pict-rs: NotFound().finish(), no body
        return JSONResponse({"msg": "ok"})

    async def internal_aliases(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._unauthorized()
        if request.query_params.get("proxy") is not None:
            digest, error = self._file_of(request.query_params)
            if digest is None:
                return error or _proxy_not_found()
        else:
            with self.state.lock:
                upload = self.state.uploads.get(request.query_params.get("alias", ""))
                if upload is None or upload.deleted:  # pict-rs: an empty list, not a 404
                    return JSONResponse({"msg": "ok", "aliases": []})
                digest = upload.sha256
        with self.state.lock:
            return JSONResponse({"msg": "ok", "aliases": self.state.aliases_of(digest)})

    def _details(self, digest: str, data: bytes, content_type: str, created: datetime) -> dict:
        cached = self._details_cache.get(digest)
        if cached is None:
            from PIL import Image

            width = height = frames = None
            try:
                with Image.open(io.BytesIO(data)) as image:
                    width, height = image.size
                    count = getattr(image, "n_frames", 1)
                    frames = count if count > 1 else None
            except Exception:  # a video: pict-rs' ffprobe would know; the fake does not
                pass
            known = FORMATS.get(content_type)
            cached = {
                "width": width,
                "height": height,
                "frames": frames,
                "content_type": content_type,
                "created_at": rfc3339(created),
                "format": known[2] if known else "Image",
            }
            self._details_cache[digest] = cached
        return cached

    def stored_files(self) -> list[tuple[bytes, dict]]:
        """Every stored file as `/internal/hashes` lists it, newest first: created_at
        descending, then the hash descending (pict-rs' order)."""
        with self.state.lock:
            by_file: dict[str, list] = {}
            for upload in self.state.uploads.values():
                by_file.setdefault(upload.sha256, []).append(upload)
            rows = []
            for digest, data in self.state.files.items():
                aliases = by_file.get(digest, [])
                live = [u for u in aliases if not u.deleted]
                content_type = (live or aliases)[0].content_type if aliases else "image/jpeg"
                created = self.state.file_created[digest]
                raw = hash_bytes(digest, len(data), content_type)
                details = self._details(digest, data, content_type, created)
                if self.validation:
                    details = {**details, "created_at": rfc3339(created - self.validation)}
                entry = {"hex": raw.hex(), "aliases": [u.alias for u in live], "details": details}
                rows.append((created, raw, entry))
        rows.sort(key=lambda row: (row[0], row[1]), reverse=True)
        return [(raw, entry) for _created, raw, entry in rows]

    def _stored_listing(self) -> tuple[list[tuple[bytes, dict]], dict[str, int]]:
        """``stored_files()`` and each row's slug -> its index, rebuilt when a file or an
        alias came or went."""
        with self.state.lock:
            key = (
                len(self.state.files),
                len(self.state.uploads),
                sum(1 for u in self.state.uploads.values() if u.deleted),
                max(self.state.file_created.values(), default=None),
                self.validation,
            )
        if self._listing is None or self._listing[0] != key:
            rows = self.stored_files()
            slugs: dict[str, int] = {}
            for i, (raw, _entry) in enumerate(rows):
                slugs.setdefault(slug_of(raw), i)
            self._listing = (key, rows, slugs)
        return self._listing[1], self._listing[2]

    async def internal_hashes(self, request: Request) -> Response:
        """One page of every stored original with its aliases (pict-rs' `page()`)."""
        if not self._authorized(request):
            return self._unauthorized()
        params = request.query_params
        limit = 20
        if params.get("limit") is not None:
            if not params["limit"].isdigit():
                return _invalid_query(f"limit: invalid digit found in string ({params['limit']})")
            limit = int(params["limit"])
        rows, slugs = self._stored_listing()
        start = 0
        if params.get("timestamp") is not None:
            try:
                moment = datetime.fromisoformat(params["timestamp"].replace("Z", "+00:00"))
            except ValueError:
                return _invalid_query(f"timestamp: invalid RFC 3339 ({params['timestamp']})")
            if moment.tzinfo is None:
                return _invalid_query("timestamp: missing the offset")
            with self.state.lock:
                created = [self.state.file_created[raw[:32].hex()] for raw, _entry in rows]
            start = next((i for i, c in enumerate(created) if c < moment), len(rows))
            if start == len(rows) and self.repo == "postgres":
                start = 0  # no bound found: Postgres' hashes_ordered(None), the newest page
        elif params.get("slug") is not None:
            # an unknown (purged) slug silently starts again at the newest page
            start = slugs.get(params["slug"], 0)
        page_rows = rows[start : start + limit]
        page: dict = {"limit": limit}
        if page_rows:
            page["current"] = slug_of(page_rows[0][0])
        if start > 0:
            page["prev"] = slug_of(rows[max(0, start - limit)][0])
        if start + limit < len(rows):
            page["next"] = slug_of(rows[start + limit][0])
        page["hashes"] = [entry for _raw, entry in page_rows]
        return JSONResponse({"msg": "ok", "page": page})

    async def original(self, request: Request) -> Response:
        return self.serve_alias(request.path_params["alias"], {})  # the query is ignored

    async def process(self, request: Request) -> Response:
        """`/image/process.{ext}?src=A&thumbnail=N`: a generated variant."""
        ext = request.path_params["ext"]
        if ext not in ("jpg", "jpeg", "png", "webp"):
            return _pictrs_error(400, "Invalid file extension", "invalid-file-extension")
        params = {"format": ext}
        if request.query_params.get("thumbnail") is not None:
            params["thumbnail"] = request.query_params["thumbnail"]
        else:
            params["thumbnail"] = "100000"  # identity: the whole image, converted
        return self.serve_alias(request.query_params.get("src", ""), params)

    async def healthz(self, request: Request) -> Response:
        return Response(status_code=200)

    def internal_routes(self) -> list[Route]:
        return [
            Route("/internal/purge", self.internal_purge, methods=["POST"]),
            Route("/internal/delete", self.internal_delete, methods=["POST"]),
            Route("/internal/aliases", self.internal_aliases),
            Route("/internal/hashes", self.internal_hashes),
            Route("/image/original/{alias}", self.original),
            Route("/image/process.{ext}", self.process),
            Route("/healthz", self.healthz),
        ]


def alias_of_local_url(base_url: str, url: str | None) -> str | None:
    """The pict-rs alias when `url` is an image on this instance, else None."""
    if not url or not url.startswith(f"{base_url}/pictrs/image/"):
        return None
    alias = urlsplit(url).path.rsplit("/", 1)[-1]
    return alias or None
