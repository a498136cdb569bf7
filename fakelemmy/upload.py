"""Uploads through the fake, and pict-rs' external validation, as the real pair does them.

pict-rs 0.5 (``src/ingest.rs``): a file is received, its type detected, stored, then, when
``media.external_validation`` is set, POSTed to that URL (the stored bytes streamed:
chunked, no Content-Length; ``Content-Type`` the stored media type; ``User-Agent:
pict-rs v0.5.0-main``; no credentials but a URL's ``user:pass@``, sent as Basic auth;
``media.external_validation_timeout``, default 30 s, one deadline for the whole call:
connect + body + answer's headers, not each step on its own). Any 2xx keeps the file;
any other status removes it and the ingest fails with 400 ``{"msg": "Failed external
validation", "code": "failed-external-validation"}``; a timeout or a connection error
fails it with 500 ``{"msg": <the error>, "code": "http-client-error"}`` (pict-rs fails
closed). The validator's body is never read. A file over ``media.max_file_size``
(``Uploads.max_file_size``, MiB, default 40) is refused before any of that (413
``validate-file-size`` from the upload form; 400 with that code for a proxied image,
pict-rs' download limit): never stored, never validated.

Routes: ``POST /image`` on the pict-rs port (multipart, one file in ``images[]``: 201
``{"msg": "ok", "files": [{"file", "delete_token", "details"}]}``), and Lemmy 0.19's
``POST /pictrs/image`` (a logged-in user's upload, forwarded to pict-rs: pict-rs' status,
and on a failure ``{"files": null, "msg": <pict-rs' msg>}``). The first fetch of a proxied
image (``/api/v3/image_proxy``) is validated too (``validate``). Each call to the
validator is in ``FakeLemmy.validations``.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakelemmy.pictrs import sniff_image

if TYPE_CHECKING:
    from fakelemmy.fake import FakeLemmy

USER_AGENT = "pict-rs v0.5.0-main"  # hard-coded in pict-rs 0.5, every build
CHUNK = 65_536
MAX_FILE_SIZE = 40  # pict-rs' default media.max_file_size, MiB
MIB = 1024 * 1024


def too_large(data: bytes, max_file_size: int, *, proxied: bool = False) -> Response | None:
    """pict-rs' answer to a file over ``media.max_file_size`` MiB, else None. An upload
    is cut off by its multipart form's limit (``actix_form_data::Error::FileSize``: 413);
    a remote image pict-rs downloads (the image proxy) by ``stream::limit`` (400); both
    with the code ``validate-file-size`` (``src/error.rs``)."""
    if len(data) <= max_file_size * MIB:
        return None
    if proxied:
        # (pict-rs' own spelling)
        body = {"msg": "Resonse body larger than size limit", "code": "validate-file-size"}
        return JSONResponse(body, status_code=400)
    return JSONResponse({"msg": "File too large", "code": "validate-file-size"}, status_code=413)


@dataclass
class Validation:
    """One call pict-rs made to its validator: what it sent and what came of it."""

    url: str
    media_type: str
    size: int
    status: int | None  # the validator's status; None: no answer (error says why)
    error: str | None = None

    @property
    def stored(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def validate(fake: FakeLemmy, data: bytes, media_type: str) -> Response | None:
    """pict-rs asking its external validator about ``data``: None to keep the file, else
    pict-rs' error answer."""
    url = fake.external_validation
    if url is None:
        return None

    async def stream():  # a body of unknown length, as pict-rs streams the stored file
        for start in range(0, len(data), CHUNK):
            yield data[start : start + CHUNK]

    async def call() -> int:
        # the status only: pict-rs never reads the validator's body
        async with httpx.AsyncClient(timeout=None, follow_redirects=True) as client:
            request = client.build_request(
                "POST",
                url,
                content=stream(),
                headers={"Content-Type": media_type, "User-Agent": USER_AGENT, "Accept": "*/*"},
            )
            answer = await client.send(request, stream=True)
            await answer.aclose()
            return answer.status_code

    try:
        # one deadline for the whole call (connect, the body sent, the answer's headers),
        # as reqwest's per-request timeout in pict-rs; not httpx's, which is per step
        status = await asyncio.wait_for(call(), fake.external_validation_timeout)
    except (httpx.HTTPError, TimeoutError) as exc:
        # (never the URL: the gate's secret is in its path, and Lemmy shows this message)
        message = (
            "operation timed out"
            if isinstance(exc, TimeoutError)
            else str(exc) or type(exc).__name__
        )
        fake.validations.append(Validation(url, media_type, len(data), None, message))
        return JSONResponse({"msg": message, "code": "http-client-error"}, status_code=500)
    fake.validations.append(Validation(url, media_type, len(data), status))
    if not 200 <= status < 300:
        return JSONResponse(
            {"msg": "Failed external validation", "code": "failed-external-validation"},
            status_code=400,
        )
    return None


def _first_file(request_type: str, body: bytes) -> bytes | None:
    """The first file of a multipart/form-data body (pict-rs takes one, in ``images[]``)."""
    head = f"Content-Type: {request_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        return None
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "images[]":
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None


class Uploads:
    """Upload routes of one ``FakeLemmy``."""

    def __init__(self, fake: FakeLemmy) -> None:
        self.fake = fake
        self.max_file_size = MAX_FILE_SIZE  # pict-rs' media.max_file_size, MiB

    async def _ingest(self, request: Request, person_id: int | None) -> tuple[int, dict]:
        """pict-rs' ``POST /image``: (status, pict-rs' JSON)."""
        data = _first_file(request.headers.get("content-type", ""), await request.body())
        if data is None:
            return 400, {"msg": "No files present in upload", "code": "no-files"}
        over = too_large(data, self.max_file_size)
        if over is not None:  # the form stops reading it: nothing stored, nothing validated
            import json

            return over.status_code, json.loads(bytes(over.body))
        media_type = sniff_image(data)
        if media_type is None:
            return 400, {"msg": "Unsupported media type", "code": "validate-unsupported"}
        refused = await validate(self.fake, data, media_type)
        if refused is not None:  # the stored copy is cleaned up: nothing stays
            import json

            return refused.status_code, json.loads(bytes(refused.body))
        with self.fake.state.lock:
            upload = self.fake._new_upload(person_id, data, media_type, None)
            if person_id is None:
                upload.listed = False  # an upload straight to pict-rs is not Lemmy's
        return 201, {
            "msg": "ok",
            "files": [
                {
                    "file": upload.alias,
                    "delete_token": upload.delete_token,
                    "details": {"content_type": media_type, "created_at": str(upload.published)},
                }
            ],
        }

    async def pictrs_image(self, request: Request) -> Response:
        status, body = await self._ingest(request, None)
        return JSONResponse(body, status_code=status)

    async def lemmy_upload(self, request: Request) -> Response:
        viewer = self.fake.viewer_of(request)
        if viewer is None:
            return JSONResponse({"error": "incorrect_login"}, status_code=401)
        status, body = await self._ingest(request, viewer.id)
        if status != 201:  # Lemmy 0.19 passes pict-rs' status and message through
            return JSONResponse({"files": None, "msg": body.get("msg")}, status_code=status)
        files = [{"file": f["file"], "delete_token": f["delete_token"]} for f in body["files"]]
        return JSONResponse({"msg": "ok", "files": files}, status_code=201)

    def lemmy_routes(self) -> list[Route]:
        return [Route("/pictrs/image", self.lemmy_upload, methods=["POST"])]

    def pictrs_routes(self) -> list[Route]:
        return [Route("/image", self.pictrs_image, methods=["POST"])]
