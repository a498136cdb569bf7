"""pict-rs behind the fake: image serving on the Lemmy host, the internal API on its own port.

On the Lemmy host (as Lemmy proxies it): `GET /pictrs/image/{alias}` (with
`?thumbnail=N&format=jpg` a resized copy), `GET /pictrs/image/delete/{token}/{alias}`,
`GET /api/v3/image_proxy?url=`. On the pict-rs port: `POST /internal/purge?alias=|proxy=`,
`POST /internal/delete?alias=`, `GET /internal/aliases?alias=`, `GET /internal/hashes`,
`GET /image/original/{alias}`, all `/internal/*` behind the `X-Api-Token` header.
"""

from __future__ import annotations

import io
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakelemmy.params import ApiError


def _pictrs_error(status: int, msg: str, code: str) -> Response:
    return JSONResponse({"msg": msg, "code": code}, status_code=status)


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

    # ------------------------------------------------------------ on the Lemmy host
    def serve_alias(self, alias: str, params) -> Response:
        with self.state.lock:
            upload = self.state.uploads.get(alias)
            data = None
            if upload is not None and not upload.deleted:
                data = self.state.files.get(upload.sha256)
            content_type = upload.content_type if upload else ""
        if data is None:
            return _pictrs_error(404, "Requested a file that doesn't exist", "not-found")
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
            from fakelemmy.upload import validate  # the first fetch is an ingest: validated

            refused = await validate(self.fake, data, sniff_image(data) or "image/jpeg")
            if refused is not None:  # Lemmy passes pict-rs' answer on to the browser
                return refused
            with self.state.lock:
                self.state.proxied[url] = self.state.store_file(data)
        return Response(data, media_type=sniff_image(data) or "application/octet-stream")

    def lemmy_routes(self) -> list[Route]:
        return [
            Route("/pictrs/image/delete/{token}/{alias}", self.delete),
            Route("/pictrs/image/{alias}", self.image),
            Route("/api/v3/image_proxy", self.image_proxy),
        ]

    # ------------------------------------------------------------ the pict-rs port
    def _authorized(self, request: Request) -> bool:
        return request.headers.get("x-api-token") == self.fake.pictrs_api_key

    async def internal_purge(self, request: Request) -> Response:
        if not self._authorized(request):
            return _pictrs_error(403, "Invalid API token", "invalid-api-token")
        alias, proxy = request.query_params.get("alias"), request.query_params.get("proxy")
        with self.state.lock:
            if alias is not None:
                upload = self.state.uploads.get(alias)
                if upload is None or upload.deleted:
                    return _pictrs_error(
                        404, "Requested a file that doesn't exist", "missing-alias"
                    )
                # pict-rs dedups by hash: every alias of these bytes goes, Lemmy's rows stay
                return JSONResponse({"msg": "ok", "aliases": self.state.purge_file(upload.sha256)})
            if proxy is not None:
                digest = self.state.proxied.get(proxy)
                if digest is None:
                    return _pictrs_error(
                        404, "Requested a file that doesn't exist", "missing-alias"
                    )
                self.state.purge_file(digest)
                self.state.proxied[proxy] = None
                self.state.purged_images.append(proxy)
                return JSONResponse({"msg": "ok", "aliases": [f"proxy:{quote(proxy, safe='')}"]})
        return _pictrs_error(400, "Missing query: alias or proxy", "invalid-query")

    async def internal_delete(self, request: Request) -> Response:
        if not self._authorized(request):
            return _pictrs_error(403, "Invalid API token", "invalid-api-token")
        alias = request.query_params.get("alias")
        if alias is None or not self.state.delete_alias(alias):
            return _pictrs_error(404, "Requested a file that doesn't exist", "missing-alias")
        return JSONResponse({"msg": "ok"})

    async def internal_aliases(self, request: Request) -> Response:
        if not self._authorized(request):
            return _pictrs_error(403, "Invalid API token", "invalid-api-token")
        with self.state.lock:
            upload = self.state.uploads.get(request.query_params.get("alias", ""))
            if upload is None or upload.deleted:
                return _pictrs_error(404, "Requested a file that doesn't exist", "missing-alias")
            return JSONResponse({"msg": "ok", "aliases": self.state.aliases_of(upload.sha256)})

    async def internal_hashes(self, request: Request) -> Response:
        """Every stored file with its aliases (one page: the fake's stores are small)."""
        if not self._authorized(request):
            return _pictrs_error(403, "Invalid API token", "invalid-api-token")
        with self.state.lock:
            hashes = [
                {"hex": digest, "aliases": self.state.aliases_of(digest)}
                for digest in self.state.files
            ]
        return JSONResponse(
            {
                "msg": "ok",
                "page": {
                    "limit": len(hashes),
                    "current": None,
                    "prev": None,
                    "next": None,
                    "hashes": hashes,
                },
            }
        )

    async def original(self, request: Request) -> Response:
        return self.serve_alias(request.path_params["alias"], request.query_params)

    async def healthz(self, request: Request) -> Response:
        return Response(status_code=200)

    def internal_routes(self) -> list[Route]:
        return [
            Route("/internal/purge", self.internal_purge, methods=["POST"]),
            Route("/internal/delete", self.internal_delete, methods=["POST"]),
            Route("/internal/aliases", self.internal_aliases),
            Route("/internal/hashes", self.internal_hashes),
            Route("/image/original/{alias}", self.original),
            Route("/healthz", self.healthz),
        ]


def alias_of_local_url(base_url: str, url: str | None) -> str | None:
    """The pict-rs alias when `url` is an image on this instance, else None."""
    if not url or not url.startswith(f"{base_url}/pictrs/image/"):
        return None
    alias = urlsplit(url).path.rsplit("/", 1)[-1]
    return alias or None
