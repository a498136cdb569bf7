"""fetch.py against a hostile little web server on 127.0.0.1 (port 0).

The first server is raw asyncio so that it can misbehave the way real ones do: lie about
Content-Length, trickle, redirect in circles, serve HTML as image/jpeg. Refusals of
private addresses are proven by a dial that records every address the fetcher is to
connect to, and by the server counting the connections it accepts. The last
tests run the same refusals against the fake Lemmy's remote web host, pict-rs and
image proxy, with the hostile files from fakelemmy.hostile.
"""

import asyncio
import gzip
import hashlib
import io
import logging
import ssl
import time
import tracemalloc
import zlib

import pytest
from PIL import Image

import modbot.fetch
from fakelemmy import hostile
from fakelemmy.fake import FakeLemmy
from fakelemmy.tls import TestCA
from modbot.fetch import (
    BadScheme,
    BadStatus,
    BadURL,
    ConnectFailed,
    EmptyResponse,
    Fetcher,
    FetchLimits,
    FetchSkipped,
    FetchTimeout,
    NotAnImage,
    PrivateAddress,
    ProtocolFailure,
    TooLarge,
    TooManyRedirects,
    UnresolvableHost,
    is_public_address,
    sniff_image_type,
)


def image_bytes(fmt, size=(8, 6), mode="RGB"):
    buf = io.BytesIO()
    Image.new(mode, size, (200, 30, 30)).save(buf, format=fmt)
    return buf.getvalue()


PNG = image_bytes("PNG")
JPEG = image_bytes("JPEG")
HTML = b"<!DOCTYPE html><html><body>Not found, but here is an ad</body></html>"
# no IEND: a whole image within the cap would be judged (test_s27a_junk_after_image)
BOMB = gzip.compress(PNG[:-12] + bytes(64 * 1024 * 1024), compresslevel=9)
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>'


class HostileServer:
    """HTTP/1.1 on 127.0.0.1:0; routes are coroutines writing raw bytes."""

    def __init__(self, tls=None):
        self.tls = tls  # a server SSLContext: HTTPS
        self.connections = 0
        self.requests = []  # (path, headers) in order
        self.active = 0
        self.max_active = 0
        self.handlers = set()

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        return self

    async def __aexit__(self, *exc):
        self.server.close()
        for task in self.handlers:  # stalling routes must not outlive the test
            task.cancel()
        await asyncio.gather(*self.handlers, return_exceptions=True)
        await self.server.wait_closed()

    async def _handle(self, reader, writer):
        self.connections += 1
        self.handlers.add(asyncio.current_task())
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, *header_lines = head.decode("latin-1").split("\r\n")
                path = line.split(" ")[1]
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (h.partition(":") for h in header_lines if h)
                }
                self.requests.append((path, headers))
                self.active += 1
                self.max_active = max(self.max_active, self.active)
                try:
                    keep = await self.route(path, writer)
                finally:
                    self.active -= 1
                await writer.drain()
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, asyncio.CancelledError):
            pass  # client gone, or the test is over
        finally:
            writer.close()

    async def route(self, path, w):
        name, _, arg = path.split("?")[0].lstrip("/").partition("/")
        if name == "png":
            return send(w, 200, PNG, "image/png")
        if name == "validators":  # /validators/N: an ETag of N characters
            etag = '"' + "x" * (int(arg) - 2) + '"'
            modified = "Tue, 01 Dec 2026 10:00:00 GMT"
            return send(w, 200, PNG, "image/png", f"ETag: {etag}\r\nLast-Modified: {modified}\r\n")
        if name == "png-then-hang-up":  # keep-alive promised, then the server closes it
            send(w, 200, PNG, "image/png")
            return False
        if name == "jpeg-as-html":  # a real image with a lying Content-Type
            return send(w, 200, JPEG, "text/html")
        if name == "html-as-jpeg":
            return send(w, 200, HTML, "image/jpeg")
        if name == "svg":
            return send(w, 200, SVG, "image/svg+xml")
        if name == "mp4":
            return send(
                w, 200, b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(64), "image/png"
            )
        if name == "empty":
            return send(w, 200, b"", "image/png")
        if name == "missing":
            return send(w, 404, b"no", "text/plain")
        if name == "huge-announced":  # says 100 MB, then sends a little and stalls
            w.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                b"Content-Length: 104857600\r\n\r\n" + PNG
            )
            await w.drain()
            await asyncio.sleep(30)
            return False
        if name == "endless":  # no Content-Length, streams until the client gives up
            w.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n\r\n")
            w.write(PNG[:-12])  # no IEND: no whole image within the cap (test_s27a_junk_...)
            chunk = bytes(64 * 1024)
            for _ in range(10_000):  # 640 MB at most: the test must stop far sooner
                w.write(chunk)
                await w.drain()
            return False
        if name == "short":  # says 1000 bytes, sends fewer (a PNG without its end), hangs up
            w.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n")
            w.write(PNG[:-12])
            return False
        if name == "long-header":  # one header line of 20 KiB
            w.write(b"HTTP/1.1 200 OK\r\nX-Junk: " + b"j" * 20_000 + b"\r\n\r\n")
            return False
        if name == "not-http":  # another protocol answers
            w.write(b"SSH-2.0-jjj\r\n\r\n")
            return False
        if name == "bad-chunk":  # a chunk size that is not hex
            w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\njjj\r\nabc\r\n")
            return False
        if name == "trickle":  # each byte comes well within the read timeout
            w.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n")
            for byte in PNG * 10:
                w.write(bytes([byte]))
                await w.drain()
                await asyncio.sleep(0.1)
            return False
        if name == "gzip":  # a PNG sent gzip-encoded although identity was asked for
            return send(w, 200, gzip.compress(PNG), "image/png", "Content-Encoding: gzip\r\n")
        if name == "deflate":  # /deflate/zlib or /deflate/raw (no header), as servers send
            packer = zlib.compressobj(9, zlib.DEFLATED, 15 if arg == "zlib" else -15)
            # a bomb's PNG has no IEND: no whole image within the cap (test_s27a_junk_...)
            image = PNG[:-12] if arg == "raw-bomb" else PNG
            body = packer.compress(image + bytes(8 * 1024 * 1024 if arg == "raw-bomb" else 0))
            return send(w, 200, body + packer.flush(), "image/png", "Content-Encoding: deflate\r\n")
        if name == "cut":  # /cut/<gzip|gzip-trailer|zlib|raw>: a compressed body cut short
            wbits = {"zlib": 15, "raw": -15}.get(arg, 31)
            packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
            whole = packer.compress(PNG) + packer.flush()
            body = whole[:-4] if arg == "gzip-trailer" else whole[: len(whole) // 2]
            encoding = "gzip" if wbits == 31 else "deflate"
            return send(w, 200, body, "image/png", f"Content-Encoding: {encoding}\r\n")
        if name == "gzip-members":  # the PNG in two gzip members (gzip -c a b), then padding
            body = gzip.compress(PNG[:20]) + gzip.compress(PNG[20:]) + bytes(8)
            return send(w, 200, body, "image/png", "Content-Encoding: gzip\r\n")
        if name == "gzip-member-bomb":  # a PNG, then 8 members of 256 KB of zeros each
            # no IEND: a whole image within the cap would be judged (test_s27a_junk_...)
            body = gzip.compress(PNG[:-12]) + gzip.compress(bytes(256 * 1024)) * 8
            return send(w, 200, body, "image/png", "Content-Encoding: gzip\r\n")
        if name == "gzip-then-junk":  # a whole gzip stream, then 32 MB that is no member
            w.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Encoding: gzip\r\n")
            w.write(b"Connection: close\r\n\r\n" + gzip.compress(PNG))
            chunk = b"j" * 64 * 1024
            for _ in range(512):
                w.write(chunk)
                await w.drain()
            return False
        if name == "gzip-bomb":  # 64 MB of zeros in about 64 KB
            return send(w, 200, BOMB, "image/png", "Content-Encoding: gzip\r\n")
        if name == "brotli":
            return send(w, 200, b"\x0b\x02\x80", "image/png", "Content-Encoding: br\r\n")
        if name == "slow":  # for concurrency counting
            await asyncio.sleep(0.2)
            return send(w, 200, PNG, "image/png")
        if name == "redirect":  # /redirect/N -> N-1 ... -> /png
            n = int(arg)
            return redirect(w, "/png" if n <= 1 else f"/redirect/{n - 1}")
        if name == "loop":
            return redirect(w, "/loop/")
        if name == "to":  # /to/<url-without-scheme-separator>
            return redirect(w, arg.replace("__", "://", 1))
        if name == "to-fullwidth-loopback":  # 127.0.0.1 as IDNA reads it, to this server
            return redirect(w, f"http://\uff11\uff12\uff17\u3002\uff10.0.1:{self.port}/png")
        if name == "to-undecodable":  # a Location with a byte that is not UTF-8
            w.write(b"HTTP/1.1 302 Found\r\nLocation: http://exa\xffmple.com/a.png\r\n")
            w.write(b"Content-Length: 0\r\n\r\n")
            return True
        return send(w, 500, b"unknown route", "text/plain")


def send(w, status, body, content_type, extra_headers=""):
    reason = {200: "OK", 404: "Not Found", 500: "Server Error"}[status]
    w.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n{extra_headers}"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    return True


def redirect(w, location):
    w.write(f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode())
    return True


class RecordingDial:
    """Every checked address the fetcher is to connect to, recorded; ``reroute`` sends
    the connection to a local port instead (to play a public host with a local server)."""

    def __init__(self, reroute=None):
        self.attempts = []
        self.reroute = reroute

    def __call__(self, address, port):
        self.attempts.append((address, port))
        return ("127.0.0.1", self.reroute) if self.reroute else (address, port)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


async def fetch_one(path, limits=None, **kwargs):
    async with HostileServer() as server:
        allowed = {f"127.0.0.1:{server.port}"}
        async with Fetcher(limits, allowed_hosts=allowed, **kwargs) as fetcher:
            return await fetcher.fetch(server.base + path)


def refusal(path, limits=None):
    with pytest.raises(FetchSkipped) as info:
        run(fetch_one(path, limits))
    return info.value


# --- what comes back -------------------------------------------------------------


def test_fetches_an_image_with_its_hash_and_type_from_the_bytes():
    got = run(fetch_one("/png"))
    assert got.data == PNG
    assert got.sha256 == hashlib.sha256(PNG).hexdigest()
    assert got.media_type == "image/png"
    assert got.url == got.final_url and got.url.endswith("/png")


def test_type_is_decided_by_the_bytes_not_the_content_type():
    assert run(fetch_one("/jpeg-as-html")).media_type == "image/jpeg"
    err = refusal("/html-as-jpeg")
    assert isinstance(err, NotAnImage) and err.reason == "not_an_image"
    assert "HTML" in err.message and "image/jpeg" in err.message


def test_svg_is_refused_with_a_reason_a_human_understands():
    err = refusal("/svg")
    assert isinstance(err, NotAnImage)
    assert "SVG is not rasterised" in err.message


def test_video_and_empty_answers_are_refused():
    assert "video" in refusal("/mp4").message
    err = refusal("/empty")
    assert isinstance(err, EmptyResponse) and err.reason == "empty"


@pytest.mark.parametrize(
    "fmt, mode, media_type",
    [
        ("JPEG", "RGB", "image/jpeg"),
        ("PNG", "RGBA", "image/png"),
        ("GIF", "P", "image/gif"),
        ("WEBP", "RGB", "image/webp"),
        ("BMP", "RGB", "image/bmp"),
        ("TIFF", "RGB", "image/tiff"),
        ("ICO", "RGBA", "image/x-icon"),
    ],
)
def test_sniffs_what_pillow_writes(fmt, mode, media_type):
    assert sniff_image_type(image_bytes(fmt, mode=mode)) == media_type


def test_sniffs_avif_and_heic_by_ftyp_brand_and_refuses_mp4():
    def ftyp(major, *compatible):
        body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
        return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + bytes(32)

    assert sniff_image_type(ftyp(b"avif", b"mif1", b"miaf")) == "image/avif"
    assert sniff_image_type(ftyp(b"mif1", b"avif")) == "image/avif"
    assert sniff_image_type(ftyp(b"heic", b"mif1")) == "image/heic"
    assert sniff_image_type(ftyp(b"isom", b"iso2", b"mp41")) is None
    assert sniff_image_type(b"") is None
    assert sniff_image_type(HTML) is None


def test_http_errors_have_their_status_in_the_reason():
    err = refusal("/missing")
    assert isinstance(err, BadStatus) and err.reason == "http_404" and err.status == 404


# --- size, time, redirects -------------------------------------------------------


def test_announced_size_over_the_cap_is_not_believed():
    # what is sent counts: a whole image, then a stall, is judged (tests/test_s25j_*)
    got = run(fetch_one("/huge-announced", FetchLimits(read_timeout=0.3)))
    assert got.data == PNG and "announced 104857600 bytes and sent" in got.ended_early


def test_size_cap_is_enforced_while_streaming():
    limits = FetchLimits(max_bytes=256 * 1024)
    err = refusal("/endless", limits)
    assert isinstance(err, TooLarge) and "262144" in err.message


def test_compressed_bodies_are_inflated_without_passing_the_cap():
    assert run(fetch_one("/gzip")).data == PNG
    # deflate as a zlib stream, or raw as some servers send it (browsers take both)
    assert run(fetch_one("/deflate/zlib")).data == run(fetch_one("/deflate/raw")).data == PNG
    assert isinstance(refusal("/deflate/raw-bomb", FetchLimits(max_bytes=1024 * 1024)), TooLarge)
    tracemalloc.start()
    try:
        err = refusal("/gzip-bomb", FetchLimits(max_bytes=1024 * 1024))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(err, TooLarge) and len(BOMB) < 1024 * 1024
    assert peak < 16 * 1024 * 1024  # inflated 1 MB and stopped, not 64 MB
    assert refusal("/brotli").reason == "protocol_error"


@pytest.mark.parametrize("cut", ["gzip", "gzip-trailer", "zlib", "raw"])
def test_a_compressed_body_cut_short_is_refused(cut):
    # without its end (and gzip's CRC) the bytes may be half an image: never judged
    err = refusal(f"/cut/{cut}")
    assert isinstance(err, ProtocolFailure) and err.reason == "protocol_error"
    assert "cut short" in err.message


def test_every_gzip_member_is_inflated_under_one_cap():
    # as browsers do: all members, the padding after them dropped
    assert run(fetch_one("/gzip-members")).data == PNG
    # each member is under the cap, together they are not
    err = refusal("/gzip-member-bomb", FetchLimits(max_bytes=1024 * 1024))
    assert isinstance(err, TooLarge) and err.reason == "too_large"


def test_what_follows_a_compressed_body_is_not_kept():
    tracemalloc.start()
    try:
        got = run(fetch_one("/gzip-then-junk"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got.data == PNG
    assert peak < 8 * 1024 * 1024  # the 32 MB after the stream was not held


def test_a_trickling_server_hits_the_total_deadline():
    # every byte arrives within the read timeout: only an overall deadline stops it
    limits = FetchLimits(read_timeout=2, total_timeout=0.8)
    started = time.monotonic()
    err = refusal("/trickle", limits)
    elapsed = time.monotonic() - started
    assert isinstance(err, FetchTimeout) and err.reason == "timeout"
    assert "0.8 s" in err.message
    assert elapsed < 5


def test_follows_up_to_three_redirects_and_no_more():
    got = run(fetch_one("/redirect/3"))
    assert got.final_url.endswith("/png") and got.url.endswith("/redirect/3")
    err = refusal("/redirect/4")
    assert isinstance(err, TooManyRedirects) and err.reason == "too_many_redirects"
    assert isinstance(refusal("/loop/"), TooManyRedirects)


def test_redirect_to_another_scheme_is_refused():
    err = refusal("/to/file__/etc/passwd")
    assert isinstance(err, BadScheme) and err.reason == "bad_scheme"
    assert "redirect from" in err.message


def test_non_http_urls_and_garbage_are_refused_without_a_request():
    async def no_lookup(host, port):
        raise AssertionError(f"{host} was looked up")

    async def go(url):
        async with Fetcher(resolver=no_lookup) as fetcher:
            return await fetcher.fetch(url)

    for url in (
        "ftp://img.example/a.png",
        "data:image/png;base64,AAAA",
        "/relative.png",
        "javascript:alert(1)",
    ):
        with pytest.raises(BadScheme):
            run(go(url))
    for url in (
        "http://",
        "http://host:99999/a.png",
        "http://xn--a.com/a.png",
        "http://[::1/a.png",
        "http://ex\x00ample.com/a.png",
    ):
        with pytest.raises(BadURL):
            run(go(url))


def test_unresolvable_and_unreachable_hosts():
    async def go(url, resolver):
        async with Fetcher(resolver=resolver) as fetcher:
            return await fetcher.fetch(url)

    async def nxdomain(host, port):
        import socket

        raise socket.gaierror(-2, "Name or service not known")

    with pytest.raises(UnresolvableHost) as info:
        run(go("http://no-such-host.invalid/a.png", nxdomain))
    assert info.value.reason == "dns_error" and info.value.url.startswith("http://no-such")

    async def closed_port_allowed():
        # a port nobody listens on, on an allowed host
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        async with Fetcher(allowed_hosts={f"127.0.0.1:{port}"}) as fetcher:
            return await fetcher.fetch(f"http://127.0.0.1:{port}/a.png")

    with pytest.raises(ConnectFailed) as info:
        run(closed_port_allowed())
    assert info.value.reason == "connect_error"


# --- private addresses -----------------------------------------------------------


@pytest.mark.parametrize(
    "host_in_url, resolves_to",
    [
        ("10.0.0.1", None),
        ("169.254.169.254", None),  # cloud metadata
        ("[::1]", None),
        ("[::ffff:127.0.0.1]", None),  # IPv4-mapped IPv6
        ("2130706433", None),  # 127.0.0.1 written as one number
        # IDNA maps these to 127.0.0.1, which the HTTP client then dials
        ("\uff11\uff12\uff17.\uff10.\uff10.\uff11", None),  # full-width digits
        ("127\u30020\u30020\u30021", None),  # ideographic full stops
        ("127.0.0.\u2460", None),  # a circled digit
        ("localhost", None),
        ("innocent.example", ["127.0.0.1"]),  # a public-looking name resolving inside
        # one with a public address too is fetched from that one: test_s29i_mixed_dns_answer
        ("inside.example", ["10.1.2.3", "::1"]),
    ],
)
def test_no_connection_is_attempted_to_a_private_address(host_in_url, resolves_to, caplog):
    async def go():
        async with HostileServer() as server:
            dial = RecordingDial()
            kwargs = {"dial": dial}
            if resolves_to is not None:

                async def resolver(host, port):
                    return resolves_to

                kwargs["resolver"] = resolver
            # the server's own host:port is NOT allowed here
            async with Fetcher(**kwargs) as fetcher:
                with pytest.raises(PrivateAddress) as info:
                    await fetcher.fetch(f"http://{host_in_url}:{server.port}/png")
            return info.value, dial.attempts, server.connections

    caplog.set_level(logging.INFO, logger="modbot.fetch")
    err, attempts, server_connections = run(go())
    assert err.reason == "private_address"
    assert err.url.startswith(f"http://{host_in_url}:")
    assert attempts == [] and server_connections == 0
    assert "private_address" in caplog.text


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ("/to/http__169.254.169.254/latest/", "http://169.254.169.254/latest/"),
        # written in other digits: IDNA makes it 127.0.0.1, which is what is dialled
        ("/to-fullwidth-loopback", None),
    ],
)
def test_redirect_into_the_private_network_is_refused_before_connecting(path, refused):
    async def go():
        async with HostileServer() as server:
            dial = RecordingDial(reroute=server.port)

            async def resolver(host, port):
                return {"public.example": ["93.184.216.34"]}.get(host, [host])

            async with Fetcher(resolver=resolver, dial=dial) as fetcher:
                with pytest.raises(PrivateAddress) as info:
                    await fetcher.fetch(f"http://public.example{path}")
            return info.value, dial.attempts, [p for p, _ in server.requests]

    err, attempts, paths = run(go())
    assert err.reason == "private_address"
    assert attempts == [("93.184.216.34", 80)] and paths == [path]  # the first hop only
    if refused:
        assert err.url == refused


def test_connection_goes_to_the_address_that_was_checked_with_the_right_host_header():
    # DNS rebinding: the name is resolved once, checked, and that address is dialled
    calls = []

    async def resolver(host, port):
        calls.append(host)
        return ["93.184.216.34"] if len(calls) == 1 else ["127.0.0.1"]

    async def go():
        async with HostileServer() as server:
            dial = RecordingDial(reroute=server.port)
            async with Fetcher(resolver=resolver, dial=dial) as fetcher:
                got = await fetcher.fetch("http://images.example/png")
            return got, dial.attempts, server.requests

    got, attempts, requests = run(go())
    assert got.data == PNG
    assert calls == ["images.example"]
    assert attempts == [("93.184.216.34", 80)]
    assert requests[0][1]["host"] == "images.example"


def test_https_keeps_the_host_name_for_sni():
    seen = {}

    def server_name(tls, name, context):
        seen["sni"] = name
        return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE  # the handshake ends here

    async def resolver(host, port):
        return ["93.184.216.34"]

    async def go():
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.sni_callback = server_name
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0, ssl=context)
        dial = RecordingDial(reroute=server.sockets[0].getsockname()[1])
        try:
            async with Fetcher(resolver=resolver, dial=dial) as fetcher:
                await fetcher.fetch("https://images.example/a.png")
        finally:
            server.close()
            seen["address"] = dial.attempts[0]

    with pytest.raises(ConnectFailed):
        run(go())
    assert seen == {"address": ("93.184.216.34", 443), "sni": "images.example"}


@pytest.fixture(scope="module")
def test_ca():
    return TestCA.make()


def fetch_over_https(ca, *names):
    """https://images.example/png from a local server with a certificate ``ca`` signed
    for ``names``; the name resolves to a public address, which is rerouted to it."""

    async def resolver(host, port):
        return ["93.184.216.34"]

    async def go():
        async with HostileServer(tls=ca.server_context(*names)) as server:
            dial = RecordingDial(reroute=server.port)
            async with Fetcher(resolver=resolver, dial=dial) as fetcher:
                return await fetcher.fetch("https://images.example/png"), dial.attempts

    return run(go())


def test_https_checks_the_certificate_against_the_url_host(test_ca, monkeypatch):
    # modbot trusts the system's CAs; the test CA is not one of them
    with pytest.raises(ConnectFailed) as info:
        fetch_over_https(test_ca, "images.example")
    assert "certificate verify failed" in info.value.message
    # trusted, for the right name: downloaded, from the address that was checked
    monkeypatch.setattr(modbot.fetch, "tls_context", test_ca.client_context)
    got, attempts = fetch_over_https(test_ca, "images.example")
    assert got.data == PNG and attempts == [("93.184.216.34", 443)]
    # trusted, for another name: refused
    with pytest.raises(ConnectFailed) as info:
        fetch_over_https(test_ca, "other.example")
    assert "images.example" in info.value.message and "not valid" in info.value.message


def test_allowed_hosts_may_be_private_by_host_and_port_only():
    async def go(allowed, host="127.0.0.1"):
        async with (
            HostileServer() as server,
            Fetcher(allowed_hosts=allowed(server.port)) as fetcher,
        ):
            return await fetcher.fetch(f"http://{host}:{server.port}/png")

    assert run(go(lambda port: {f"127.0.0.1:{port}"})).data == PNG
    assert run(go(lambda port: {f"http://LOCALHOST:{port}/"}, host="localhost")).data == PNG
    assert run(go(lambda port: {"127.0.0.1:*"})).data == PNG
    # another port of the same host is not allowed; without a port: 80 and 443 only
    for allowed, host in (
        ("127.0.0.1:1", "127.0.0.1"),
        ("127.0.0.1", "127.0.0.1"),
        ("http://localhost/", "localhost"),
    ):
        with pytest.raises(PrivateAddress):
            run(go(lambda port: {allowed}, host=host))  # noqa: B023 (called at once)
    for bad in ("lemmy:99999", ":8080", ""):
        with pytest.raises(ValueError, match="allowed host"):
            Fetcher(allowed_hosts=[bad])


def test_fetched_never_shows_the_image_bytes_in_its_repr():
    got = run(fetch_one("/png"))
    assert "data=" not in repr(got) and got.sha256 in repr(got)


@pytest.mark.parametrize(
    "address, public",
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("239.255.255.250", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1%eth0", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:10.0.0.1", False),
        ("::127.0.0.1", False),
        ("2002:7f00:1::", False),
        ("64:ff9b::a00:1", False),
        ("fec0::1", False),
    ],
)
def test_public_addresses(address, public):
    assert is_public_address(address) is public


# --- concurrency -----------------------------------------------------------------


def test_concurrency_is_bounded_per_host_and_overall():
    async def go(limits, hosts):
        async with HostileServer() as server:
            allowed = {f"{h}:{server.port}" for h in hosts}
            async with Fetcher(limits, allowed_hosts=allowed) as fetcher:
                got = await asyncio.gather(
                    *(
                        fetcher.fetch(f"http://{hosts[i % len(hosts)]}:{server.port}/slow")
                        for i in range(8)
                    )
                )
            assert all(g.data == PNG for g in got)
            return server.max_active

    per_host = FetchLimits(max_concurrency=16, per_host_concurrency=2)
    assert run(go(per_host, ["127.0.0.1"])) == 2
    overall = FetchLimits(max_concurrency=3, per_host_concurrency=3)
    assert run(go(overall, ["127.0.0.1", "localhost"])) == 3


def test_many_hosts_through_a_small_pool():
    async def resolver(host, port):
        return ["93.184.216.34"]

    async def go():
        async with HostileServer() as server:
            dial = RecordingDial(reroute=server.port)
            limits = FetchLimits(max_concurrency=3, per_host_concurrency=1)
            async with Fetcher(limits, resolver=resolver, dial=dial) as fetcher:
                got = await asyncio.gather(
                    *(fetcher.fetch(f"http://h{i}.example/png") for i in range(30))
                )
            return got, server.max_active

    got, max_active = run(go())
    assert len(got) == 30 and all(g.data == PNG for g in got) and max_active <= 3


def test_validators_are_kept_for_a_conditional_request_unless_outsized():
    got = run(fetch_one("/validators/40"))
    assert got.etag == '"' + "x" * 38 + '"'
    assert got.last_modified == "Tue, 01 Dec 2026 10:00:00 GMT"
    # 8 KiB of ETag would be kept for every file the store remembers: not kept
    got = run(fetch_one("/validators/8192"))
    assert got.etag is None and got.last_modified == "Tue, 01 Dec 2026 10:00:00 GMT"


def test_connections_are_reused_until_the_server_closes_one():
    """The pool's own check of idle connections (modbot answers it from the socket it
    keeps): a connection the server closed is not used again, a live one is."""

    async def go(path):
        async with HostileServer() as server:
            allowed = {f"127.0.0.1:{server.port}"}
            async with Fetcher(allowed_hosts=allowed) as fetcher:
                got = []
                for _ in range(3):
                    got.append(await fetcher.fetch(server.base + path))
                    await asyncio.sleep(0.05)  # the server's FIN arrives
            return got, server.connections

    got, connections = run(go("/png"))
    assert [g.data for g in got] == [PNG] * 3 and connections == 1
    got, connections = run(go("/png-then-hang-up"))
    assert [g.data for g in got] == [PNG] * 3 and connections == 3


def test_fetch_first_falls_back_on_failure_but_not_on_a_refusal_of_principle():
    async def go():
        async with HostileServer() as server:
            base = server.base
            async with Fetcher(allowed_hosts={f"127.0.0.1:{server.port}"}) as fetcher:
                got = await fetcher.fetch_first([f"{base}/missing", f"{base}/png"])
                with pytest.raises(PrivateAddress):
                    await fetcher.fetch_first(["http://10.0.0.1/a.png", f"{base}/png"])
                with pytest.raises(BadStatus):  # the first URL's refusal is reported
                    await fetcher.fetch_first([f"{base}/missing", f"{base}/empty"])
            return got, [p for p, _ in server.requests]

    got, paths = run(go())
    assert got.final_url.endswith("/png")
    assert paths == ["/missing", "/png", "/missing", "/empty"]


def test_a_redirect_to_a_host_that_is_not_utf8_is_a_bad_url_as_any_invalid_one(caplog):
    # its byte percent-escaped as browsers escape it (test_s33p_location_not_utf8): a
    # host no browser reads, refused as any redirect to an invalid URL is
    caplog.set_level(logging.INFO, logger="modbot.fetch")

    async def go():
        async with HostileServer() as server:
            dial = RecordingDial(reroute=server.port)

            async def resolver(host, port):
                return ["93.184.216.34"]

            async with Fetcher(resolver=resolver, dial=dial) as fetcher:
                with pytest.raises(FetchSkipped) as info:
                    await fetcher.fetch_first(
                        [
                            "http://remote.example/to-undecodable?token=s3cret",
                            "http://copy.example/png",
                        ]
                    )
            return info.value, [p for p, _ in server.requests]

    refused, paths = run(go())
    assert refused.reason == "bad_url" and "exa%FFmple.com" in refused.message
    assert paths == ["/to-undecodable?token=s3cret"]
    assert "s3cret" not in caplog.text


def test_broken_answers_are_refused_without_the_url_in_the_message(caplog):
    caplog.set_level(logging.INFO, logger="modbot.fetch")
    for path in ("/short", "/long-header", "/not-http", "/bad-chunk"):
        err = refusal(path + "?token=s3cret")
        assert err.reason == "protocol_error", err.message
        assert "s3cret" not in err.message and "jjj" not in err.message
    assert "s3cret" not in caplog.text


def test_skips_are_logged_without_credentials(caplog):
    caplog.set_level(logging.INFO, logger="modbot.fetch")

    async def go():
        async with HostileServer() as server:
            async with Fetcher(allowed_hosts={f"127.0.0.1:{server.port}"}) as fetcher:
                with pytest.raises(BadStatus):
                    await fetcher.fetch(
                        f"http://user:hunter2@127.0.0.1:{server.port}/missing?token=s3cret&w=1"
                    )
            return server.requests

    [(_path, headers)] = run(go())
    assert "authorization" not in headers  # user info in content is never sent
    assert "http_404" in caplog.text and "w=1" in caplog.text
    assert "hunter2" not in caplog.text and "s3cret" not in caplog.text


# --- against the fake Lemmy: its remote web host, pict-rs and image proxy ----------


@pytest.fixture(scope="module")
def fake():
    with FakeLemmy() as lemmy:
        yield lemmy


def host_port(url):
    return url.split("//", 1)[1]


async def fetch_from(fake, url, limits=None, *, allow_remote=True):
    # The fake's "remote web" host is on 127.0.0.1; a real one would be public.
    allowed = {host_port(fake.url)} | ({host_port(fake.remote_url)} if allow_remote else set())
    async with Fetcher(limits, allowed_hosts=allowed) as fetcher:
        return await fetcher.fetch(url)


@pytest.mark.parametrize(
    "name, outcome",
    [
        ("truncated_jpeg", "image/jpeg"),  # fetched; whether it decodes is the classifier's call
        ("png_bomb", "image/png"),  # a few kB on the wire; the decoder must refuse its pixels
        ("animated_gif", "image/gif"),
        ("animated_webp", "image/webp"),
        # a JPEG, then 30 MB of padding: the JPEG is judged, the padding past the cap not
        # read (test_s27a_junk_after_image; before, too_large)
        ("large_file", "image/jpeg"),
        ("svg", "not_an_image"),
        ("html_page", "not_an_image"),
        ("zero_byte", "empty"),
    ],
)
def test_hostile_files_from_the_remote_host(fake, name, outcome):
    data = hostile.ALL[name]()
    url = fake.add_remote_behaviour(f"/hostile/{name}", data, content_type="image/jpeg")
    if outcome.startswith("image/"):
        got = run(fetch_from(fake, url))
        expected = hostile.jpeg(64, 64) if name == "large_file" else data
        assert got.media_type == outcome and got.data == expected
    else:
        with pytest.raises(FetchSkipped) as info:
            run(fetch_from(fake, url))
        assert info.value.reason == outcome


@pytest.mark.parametrize(
    "behaviour, reason",
    [
        ({"trickle_bytes_per_s": 20}, "timeout"),
        ({"delay_s": 5}, "timeout"),
        ({"redirect_to": "http://169.254.169.254/latest/meta-data/"}, "private_address"),
        ({"redirect_to": "http://10.0.0.1/a.jpg", "redirects": 2}, "private_address"),
        ({"redirects": 4}, "too_many_redirects"),
        ({"status": 404}, "http_404"),
        ({"status": 500, "content_type": "text/html"}, "http_500"),
    ],
)
def test_hostile_behaviours_of_the_remote_host(fake, behaviour, reason):
    path = f"/behaviour/{len(fake.requests)}"
    url = fake.add_remote_behaviour(path, hostile.jpeg(), **behaviour)
    limits = FetchLimits(max_bytes=1024 * 1024, total_timeout=1.5)
    with pytest.raises(FetchSkipped) as info:
        run(fetch_from(fake, url, limits))
    assert info.value.reason == reason


def test_an_endless_body_after_a_whole_image_is_not_read_past_the_cap(fake):
    # before (test_s27a_junk_after_image): too_large, the image never judged
    jpeg = hostile.jpeg()
    url = fake.add_remote_behaviour("/endless.jpg", jpeg, endless=True)
    got = run(fetch_from(fake, url, FetchLimits(max_bytes=1024 * 1024, total_timeout=1.5)))
    assert got.data == jpeg
    assert got.ended_early.startswith(f"more than {1024 * 1024} bytes came")


def test_a_length_announced_over_the_cap_and_a_whole_image_sent_is_judged(fake):
    jpeg = hostile.jpeg()
    url = fake.add_remote_behaviour("/liar.jpg", jpeg, content_length=200 * 1024 * 1024)
    got = run(fetch_from(fake, url, FetchLimits(max_bytes=1024 * 1024)))
    assert got.data == jpeg
    assert f"announced {200 * 1024 * 1024} bytes and sent {len(jpeg)}" in got.ended_early


def test_three_redirects_on_the_remote_host_are_followed(fake):
    url = fake.add_remote_behaviour("/three-hops", hostile.jpeg(), redirects=3)
    got = run(fetch_from(fake, url))
    assert got.final_url.endswith("/three-hops.hop3") and got.media_type == "image/jpeg"


def test_local_upload_through_the_instance_and_refused_when_not_allowed(fake):
    person = fake.add_person(f"uploader{len(fake.requests)}")
    data = hostile.jpeg(color=(10, 200, 10))
    upload = fake.add_upload(person, data)
    got = run(fetch_from(fake, upload.url))
    assert got.sha256 == hashlib.sha256(data).hexdigest()

    async def not_allowed():
        async with Fetcher() as fetcher:
            await fetcher.fetch(upload.url)

    with pytest.raises(PrivateAddress):
        run(not_allowed())


def test_proxy_serves_its_copy_when_the_original_is_gone(fake):
    data = hostile.jpeg(color=(1, 2, 250))
    original = fake.add_remote_file("gone-soon.jpg", data)
    proxy = fake.proxy_url(original)
    assert run(fetch_from(fake, proxy)).data == data  # pict-rs now holds a copy
    fake.add_remote_behaviour("/gone-soon.jpg", status=404, content_type="text/html")

    async def first_that_works():
        allowed = {host_port(fake.url), host_port(fake.remote_url)}
        async with Fetcher(allowed_hosts=allowed) as fetcher:
            return await fetcher.fetch_first([original, proxy])

    got = run(first_that_works())
    assert got.data == data and got.url == proxy
