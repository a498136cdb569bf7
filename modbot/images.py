"""Every image in an item, with where it was found.

Works on an ``Item``'s content (``modbot.model``): a post's link (``link``, with the
content type Lemmy saw), its thumbnail and its body, a comment's content, an upload's
pict-rs alias, a profile or community image's URL (``modbot.profiles``). Markdown images are found as lemmy-ui's markdown-it would show them.

An ``ImageRef`` keeps the URL exactly as the item has it (what the audit records and a
moderator clicks), the original behind the instance's own ``image_proxy`` URL (fetched
first: the same original seen through the proxy and directly is one image; a proxy URL
on another host is fetched as written), the pict-rs alias of a
local upload (what a purge needs), and for a post's link the instance's own copy of it
(its thumbnail in pict-rs or behind the proxy), tried when the original fails.

A Markdown image written as a ``data:`` URI (``![](data:image/png;base64,...)``, which
lemmy-ui's markdown-it shows for gif, png, jpeg and webp) never reaches pict-rs or any
server: its ``ImageRef.url`` is a stable reference, ``data:image/png;uri-sha256=<hex>``
(the SHA-256 of the URI), never the URI, whose bytes would be the image itself; the
bytes are read from the item again when it is checked (``data_images``).
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import html
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from functools import lru_cache
from urllib.parse import (
    SplitResult,
    parse_qs,
    quote,
    unquote,
    unquote_to_bytes,
    urljoin,
    urlsplit,
    urlunsplit,
)

from httpx import URL, InvalidURL

from modbot.model import (
    FILE_KINDS,
    PROFILE_KINDS,
    SIGNIFICANCE,
    TEXT_IMAGE_KINDS,
    VIDEO_EXTENSIONS,
    ImageRef,
    Item,
    Location,
    extension,
)

__all__ = [
    "ImageRef",
    "data_image_reference",
    "data_images",
    "decoded_host",
    "image_refs",
    "known_key",
    "looks_like_image",
    "pictrs_alias",
    "unwrap_proxy",
    "upload_ref",
]

IMAGE_EXTENSIONS = frozenset(
    [
        ".jpg",
        ".jpeg",
        ".jfif",
        ".pjpeg",
        ".png",
        ".apng",
        ".gif",
        ".webp",
        ".bmp",
        ".tif",
        ".tiff",
        ".avif",
        ".heic",
        ".heif",
        ".jxl",
        ".ico",
    ]
)

# where Lemmy serves its pict-rs uploads (0.19, 1.0): fetch gives them slots of their own
PICTRS_PREFIXES = ("/pictrs/image/", "/api/v4/image/")
_PROXY_PATHS = ("/api/v3/image_proxy", "/api/v4/image/proxy")


def image_refs(
    item: Item,
    *,
    instance_url: str,
    custom_emoji_urls: Iterable[str] = (),
) -> list[ImageRef]:
    """Every image of a post, comment or upload, de-duplicated (each at its most
    significant location), in the order they are checked: a post's link and thumbnail
    first, then its body's images (the first ``fetch.max_images_per_item`` are checked).

    ``custom_emoji_urls``: the site's custom emoji images (``SiteInfo.custom_emoji_urls``);
    a markdown image titled ``emoji <name>`` is skipped only when it is one of these:
    the title alone is not enough to hide an image from moderation.
    """
    if item.kind in FILE_KINDS:  # file: one of pict-rs' store, by one alias
        return [upload_ref(item, instance_url=instance_url)]
    if item.kind in PROFILE_KINDS:  # an avatar, a banner, an icon: the item is the image
        if item.kind in TEXT_IMAGE_KINDS and item.link and is_data_reference(item.link):
            # a data: image of a bio or a description: its bytes are in the item's text
            return [ImageRef(url=item.link, location="profile")]
        ref = _make_ref(item.link, "profile", instance_url) if item.link else None
        return [ref] if ref else []
    emojis = frozenset(_dedupe_key(u, instance_url) for u in custom_emoji_urls)
    if item.kind == "post":
        refs = _post_refs(item, instance_url, emojis)
    elif item.kind == "comment":
        refs = list(_markdown_refs(item.text, "comment", instance_url, emojis))
    else:
        raise ValueError(f"kind must be 'post', 'comment' or 'upload', not {item.kind!r}")
    return _dedupe(refs, instance_url)


def known_key(ref: ImageRef) -> str:
    """What the store knows a file by (``Store.known_file``), and what two images of a
    batch share when they are one file before it is downloaded: a local upload by its
    pict-rs alias (however it is linked to), another image by its URL."""
    return f"alias:{ref.alias}" if ref.alias else ref.url


def upload_ref(item: Item, *, instance_url: str) -> ImageRef:
    """The ``ImageRef`` of an upload."""
    if item.upload is None:
        raise ValueError(f"{item.key} is not an upload")
    alias = item.upload.alias
    path = item.upload.path or f"/pictrs/image/{alias}"
    url = f"{instance_url.rstrip('/')}{path}"
    return ImageRef(url=url, location="store" if item.kind == "file" else "upload", alias=alias)


def pictrs_alias(url: str, instance_url: str) -> str | None:
    """The pict-rs alias of a local upload URL, or None when ``url`` is not one."""
    parts = _split(url)
    if parts is None or not _same_host(parts, instance_url):
        return None
    path = unquote(_path(parts))
    for prefix in PICTRS_PREFIXES:
        if path.startswith(prefix):
            alias = path[len(prefix) :]
            # the v4 proxy lives under /api/v4/image/ too; aliases never contain "/"
            if alias and "/" not in alias and path not in _PROXY_PATHS:
                return alias
    return None


def unwrap_proxy(url: str) -> str | None:
    """The original URL a Lemmy ``image_proxy`` URL names (on any host), or None.

    Only the instance's own proxy is known to serve that original (``_own_original``):
    any other server answers such a path with whatever it likes."""
    target = _proxy_target(url)
    return target if target is not None and _split(target) is not None else None


def _proxy_target(url: str) -> str | None:
    """What the ``url=`` of a Lemmy ``image_proxy`` URL (any host) names, whatever its
    scheme (a ``data:`` URI too), or None when ``url`` is no proxy URL."""
    parts = _split(url)
    if parts is None or _path(parts).rstrip("/") not in _PROXY_PATHS:
        return None
    targets = parse_qs(parts.query).get("url")
    return targets[0] if targets else None


def looks_like_image(url: str, content_type: str | None, instance_url: str) -> bool:
    """Whether a post's link is worth fetching as an image: Lemmy saw an image type,
    the path has an image extension, or it is a pict-rs URL (on any instance)."""
    if content_type and content_type.strip().lower().startswith("image/"):
        return True
    parts = _split(url)
    if parts is None:
        return False
    path = unquote(parts.path).lower()
    if extension(path) in IMAGE_EXTENSIONS:
        return True
    return any(path.startswith(prefix) for prefix in PICTRS_PREFIXES) or (
        pictrs_alias(url, instance_url) is not None
    )


def remote_video(ref: ImageRef, content_type: str | None = None) -> bool:
    """A post's link to a video on another server: modbot classifies a video only
    through the still pict-rs renders of a local one, so this one is not scanned."""
    if ref.alias:
        return False
    parts = _split(ref.original_url or ref.url)
    path = unquote(parts.path).lower() if parts else ""
    if extension(path) in IMAGE_EXTENSIONS:
        return False
    kind = (content_type or "").strip().lower()
    return kind.startswith("video/") or extension(path) in VIDEO_EXTENSIONS


# --- posts -----------------------------------------------------------------------


def _post_refs(
    post: Item, instance_url: str, emojis: frozenset[str]
) -> list[tuple[ImageRef, bool]]:
    """The post's images, each with whether no reader sees it (``_markdown_refs``)."""
    refs: list[tuple[ImageRef, bool]] = []
    thumbnail = _make_ref(post.thumbnail, "thumbnail", instance_url) if post.thumbnail else None
    url = post.link
    if url:
        ref = _make_ref(url, "post_url", instance_url)
        target = ref.original_url if ref and ref.original_url else url
        if ref and looks_like_image(target, post.link_type, instance_url):
            refs.append((_with_cached_copy(ref, thumbnail, instance_url), False))
        elif ref and remote_video(ref, post.link_type):
            refs.append((ref, False))  # recorded as not scanned (the pipeline says why)
    if thumbnail:
        refs.append((thumbnail, False))
    refs.extend(_markdown_refs(post.text, "body", instance_url, emojis))
    return refs


def _with_cached_copy(ref: ImageRef, thumbnail: ImageRef | None, instance_url: str) -> ImageRef:
    """A remote link's image with the instance's own copy of it to fall back on: the
    thumbnail Lemmy made of it, when it is stored in the local pict-rs or served through
    the instance's image proxy (a thumbnail on another host is no copy of ours)."""
    if ref.alias or thumbnail is None or thumbnail.url == ref.url:
        return ref
    parts = _split(thumbnail.url)
    if thumbnail.alias is None and not (
        parts is not None and thumbnail.original_url and _same_host(parts, instance_url)
    ):
        return ref
    return replace(ref, cached_url=thumbnail.url, cached_alias=thumbnail.alias)


def _make_ref(url: str, location: Location, instance_url: str) -> ImageRef | None:
    try:
        absolute = _absolute(url.strip(), instance_url)
    except ValueError:  # "http://[x": browsers show nothing; the item's others count
        return None
    if _split(absolute) is None:
        return None
    original = _own_original(absolute, instance_url)
    alias = pictrs_alias(original or absolute, instance_url)
    return ImageRef(url=absolute, location=location, alias=alias, original_url=original)


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def _absolute(url: str, instance_url: str) -> str:
    """``url`` resolved on the instance's pages as a browser resolves it (WHATWG URL):
    before an http(s) host it skips any number of slashes (``https:///host/a.jpg``,
    ``///host/a.jpg``), and a scheme other than the page's is followed by a host
    whatever the slashes (``http:host/a.jpg``); ``urljoin`` read these as paths of the
    instance, so the image people saw was never fetched."""
    base = instance_url.rstrip("/") + "/"
    scheme = _SCHEME.match(url)
    if scheme and scheme[1].lower() in ("http", "https"):
        rest = url[scheme.end() :]
        if scheme[1].lower() != urlsplit(base).scheme.lower() or rest.startswith("//"):
            return f"{scheme[1]}://{rest.lstrip('/')}"
    elif not scheme and url.startswith("//"):
        return f"{urlsplit(base).scheme}://{url.lstrip('/')}"
    return urljoin(base, url)


# --- markdown --------------------------------------------------------------------

# A reference definition, at the start of a line or inside block quotes, list items
# and footnotes (CommonMark: "[a]\n\n> [a]: url" defines a for the whole text; lemmy-ui's
# markdown-it-footnote reads "[^1]: [a]: url" as a footnote holding a definition: a
# footnote is a container here only before a "[" or another container, "[^1]: url" is
# read as itself); its destination and title may be on the next line, block quote
# markers before them. Over-inclusive (any indentation: an indented code block's too):
# a definition too many costs a fetch. Possessive (*+): two runs of blanks side by side
# would be tried at every split, in quadratic time on a line of spaces. Never a group
# made possessive (``(?:...)*+``): Python 3.11.2 (Debian 12's) matches those wrongly
# when the group can backtrack (fixed in later 3.11 releases); each group here begins with
# a possessive run and a marker, so its plain repeat backtracks in linear time.
_CONTAINERS = (
    r"(?:[ \t]*+(?:>|[-+*](?=[ \t])|[0-9]{1,9}[.)](?=[ \t])"
    r"|\[\^[^\]\s]++\]:(?=[ \t]*+(?:[\[>]|[-+*][ \t]|[0-9]{1,9}[.)][ \t]))))*"
)
_NEXT_LINE = r"[ \t]*+(?:\n(?:[ \t]*+>)*[ \t]*+)?"
# A label may run over lines (not over a blank one; a block quote's lines carry their
# ">", taken off by ``_label``); it ends at its first unescaped "]", as markdown-it's
# does (``[a\]b]: url`` defines ``a\]b``), and an unescaped "[" is no label.
_LABEL = r"(?:[^\]\[\n\\]|\\[^\n]|\\?\n(?![ \t>]*+\n))"


def _in_title(closers: str) -> str:
    """A title's text up to one of ``closers``: it may run over lines too (not over a
    blank one) and holds escaped characters (``"say \\"hi\\""``), as markdown-it's
    parseLinkTitle reads it. Possessive: each character is read once."""
    return rf"(?:[^{closers}\\\n]|\\[^\n]|\\?\n(?![ \t>]*+\n))*"


# "...", '...' or (...) (no "(" in it)
_TITLE = rf"\"{_in_title(chr(34))}\"|'{_in_title(chr(39))}'|\({_in_title('()')}\)"
_REF_DEF = re.compile(
    rf"^{_CONTAINERS}[ \t]*+\[(?P<label>{_LABEL}{{1,999}})\]:{_NEXT_LINE}"
    r"(?:<(?P<angle>[^>\n]*)>|(?P<bare>[^ \x00-\x1f\x7f]++))"
    rf"(?:{_NEXT_LINE}(?P<title>{_TITLE}))?[ \t]*$",
    re.MULTILINE,
)


def _markdown_refs(
    text: str, location: Location, instance_url: str, emojis: frozenset
) -> Iterator[tuple[ImageRef, bool]]:
    """Images of a markdown text: inline ``![alt](url "title")`` / ``(<url>)`` and
    reference-style ``![alt][label]`` / ``![label]``, each with whether no reader sees
    it. Images inside code are included too: fetching one image too many is cheaper
    than missing one (blocks are not parsed exactly). So are all the definitions of a
    label: markdown-it shows the first, but one inside a code block (no definition to
    it) may come before it, and a later one must not stand in for it; and a footnote's
    (``![^1]`` with ``[^1]: url``: lemmy-ui shows a footnote, an app without footnotes
    an image). Those no reader of lemmy-ui sees are checked after the others
    (``_dedupe``): they must not take a shown image's place within
    ``fetch.max_images_per_item``."""
    text = _normalized(text)
    if "![" not in text:  # every image starts so: most texts have none
        return
    code = _code_ranges(text)
    titles = _spoiler_titles(text) if ":::" in text else []

    def unseen(at: int) -> bool:
        return _inside(code, at) or _inside(titles, at)

    for at, (url, title, footnote) in _located_images(text, _definitions(text), unseen):
        url = _unescape(url)
        if not url:
            continue
        unshown = footnote or unseen(at)
        if data_uri := _data_uri(url, instance_url):
            yield ImageRef(url=data_reference(data_uri), location=location), unshown
            continue
        ref = _make_ref(url, location, instance_url)
        if ref is None or _is_custom_emoji(ref, title, instance_url, emojis):
            continue
        yield ref, unshown


_NEWLINES = re.compile(r"\r\n?")


def _normalized(text: str) -> str:
    """The text as markdown-it parses it (its ``normalize`` rule): ``\\r\\n`` and a lone
    ``\\r`` are line ends like ``\\n`` (else a definition written with Windows line
    ends is no definition here, and its image is missed), NUL is U+FFFD."""
    if "\r" in text:
        text = _NEWLINES.sub("\n", text)
    return text.replace("\0", "\ufffd") if "\0" in text else text


# (destination, title, whether it is a footnote's, which markdown-it shows as no image)
_Found = tuple[str, str | None, bool]
# markdown-it-footnote (lemmy-ui's) takes a definition whose label is "^" and then a
# label of one line without spaces for a footnote's, before the reference rule sees it
_FOOTNOTE_LABEL = re.compile(r"\^[^ \n]+")


def _definitions(text: str) -> dict[str, list[_Found]]:
    """Every reference definition of a text: label -> [(destination, title, footnote)]."""
    definitions: dict[str, list[_Found]] = {}
    for m in _REF_DEF.finditer(text):
        destination = m["angle"] if m["angle"] is not None else m["bare"]
        if label := _label(m["label"]):  # one of white space alone is no label
            footnote = _FOOTNOTE_LABEL.fullmatch(m["label"]) is not None
            title = _unquote_title(m["title"])
            definitions.setdefault(label, []).append((destination, title, footnote))
    return definitions


# markdown-it's validateLink (lemmy-ui keeps its default): of the data: URIs, these are
# shown (it checks the destination trimmed and in lower case); any other is no link
_DATA_IMAGE = re.compile(r"[ \t\n]*data:image/(?:gif|png|jpeg|webp);", re.IGNORECASE)


def data_reference(uri: str) -> str:
    """What a ``data:`` image is recorded as: its media type and the SHA-256 of the URI
    (the same URI, the same reference), never the URI itself."""
    uri = uri.strip(" \t\n")
    media_type = uri[5 : uri.index(";")].lower()
    digest = hashlib.sha256(uri.encode("utf-8", "surrogatepass")).hexdigest()
    return f"data:{media_type};uri-sha256={digest}"


def is_data_reference(url: str) -> bool:
    """Whether an ``ImageRef.url`` is a ``data:`` image's reference (``data_reference``)."""
    return url.startswith("data:")


_TEXT_KINDS = ("post", "comment", *TEXT_IMAGE_KINDS)


def data_images(item: Item, *, instance_url: str) -> dict[str, str]:
    """The ``data:`` URIs of an item's Markdown images, by their reference
    (``data_reference``): where their bytes are, for the fetcher to decode (a bio's or
    a description's image item holds the image's Markdown as its ``text``)."""
    if item.kind not in _TEXT_KINDS or "data" not in item.text.lower():
        return {}
    found = {}
    text = _normalized(item.text)
    for _at, (url, _title, _footnote) in _located_images(text, _definitions(text)):
        if data_uri := _data_uri(_unescape(url), instance_url):
            found[data_reference(data_uri)] = data_uri.strip(" \t\n")
    return found


def data_image_reference(url: str, *, instance_url: str) -> str | None:
    """The reference (``data_reference``) of the ``data:`` image a Markdown image's
    destination shows, itself or behind the instance's own image proxy; None when it
    shows no data: image."""
    data_uri = _data_uri(url, instance_url)
    return data_reference(data_uri) if data_uri else None


def _data_uri(url: str, instance_url: str) -> str | None:
    """The ``data:`` image a Markdown image's destination shows: itself, or the one an
    image proxy wraps (Lemmy's ``ProxyAllImages`` wraps a data: URI in an inline image
    too). Any host's proxy, not only the instance's: pict-rs fetches http(s) only, so
    its bytes are in the text whoever's proxy it names, and a record of that proxy URL
    would hold them."""
    if _DATA_IMAGE.match(url):
        return url
    if "data" not in url.lower():
        return None
    try:  # a relative one (``/api/v3/image_proxy?url=data%3A...``) is the instance's
        absolute = urljoin(instance_url.rstrip("/") + "/", url.strip())
    except ValueError:
        return None
    target = _proxy_target(absolute)
    return target if target is not None and _DATA_IMAGE.match(target) else None


def _located_images(
    text: str,
    definitions: dict[str, list[_Found]],
    unseen: Callable[[int], bool] | None = None,
) -> Iterator[tuple[int, _Found]]:
    """Where each image starts, and its (destination, title, footnote), in the order
    they are written. An alt
    text ends at its matching ``]``, or, as markdown-it ends it, at the one after a
    ``]`` inside a code span or an autolink: where the text's blocks are not parsed,
    a backtick may not open a code span (in a code block it is literal), so both are
    tried: an image one of them finds is kept. ``unseen``: whether no reader sees what
    starts at an index (``_images_by``)."""
    if "![" not in text:  # every image starts so: most texts have none
        return
    plain = _bracket_pairs(text)
    # code spans and autolinks open with a backtick or a `<`: without either, the same
    spans = _bracket_pairs(text, skip_spans=True) if "`" in text or "<" in text else plain
    if spans == plain:
        yield from _images_by(text, definitions, plain, unseen)
        return
    seen: set[tuple[int, _Found]] = set()
    merged = heapq.merge(
        _images_by(text, definitions, plain, unseen),
        _images_by(text, definitions, spans, unseen),
        key=lambda at_found: at_found[0],
    )
    for at, found in merged:
        if (at, found) not in seen:
            seen.add((at, found))
            yield at, found


def _images_by(
    text: str,
    definitions: dict[str, list[_Found]],
    closing: dict[int, int],
    unseen: Callable[[int], bool] | None = None,
) -> Iterator[tuple[int, _Found]]:
    """(where, (destination, title, footnote)) of each image, alt texts ending as
    ``closing`` says. An image's alt text is searched too, before what follows it:
    markdown-it shows an image written there whenever the outer one is no image to it
    (its label's definition is in a code block or follows a paragraph's line, its label
    is a footnote's, its destination runs over a line end in a table row or a heading),
    which is not told here. Its destination is not searched: to markdown-it that is a
    URL, whatever it holds.

    A label's definitions are given at its first use, and once more at its first use
    a reader sees (``unseen``) when no reader saw the first: written in code and then
    in the text, the image is one readers see. Never more (a label used a thousand
    times is not a thousand lookups of its definitions)."""
    # label -> whether its definitions were given only where no reader sees them
    used: dict[str, bool] = {}
    # where to go on after an alt text is searched, and the end of what holds it
    after: list[tuple[int, int]] = []
    pos, limit = 0, len(text)
    while True:
        i = text.find("![", pos, limit)
        if i == -1:
            if not after:
                return
            pos, limit = after.pop()
            continue
        end_alt = closing.get(i + 1)
        if end_alt is None or end_alt >= limit or _escaped(text, i):
            pos = i + 2
            continue
        nxt = end_alt + 1
        found: list[_Found] | None = None
        if nxt < limit and text[nxt] == "(":
            parsed = _inline_destination(text, nxt + 1)
            if parsed is not None and parsed[2] <= limit:
                found, nxt = [(parsed[0], parsed[1], False)], parsed[2]
        if found is None:
            label, nxt = _reference(text, i + 2, end_alt, nxt, closing, limit)
            found = definitions.get(label)
            if found is not None:
                hidden = unseen(i) if unseen is not None else False
                if label not in used or (used[label] and not hidden):
                    used[label] = hidden
                else:
                    found = []
        if found is None:
            pos = i + 2
            continue
        yield from ((i, f) for f in found)
        after.append((nxt, limit))
        if text.find("\n", end_alt, nxt) != -1:
            # A destination or title over line ends may cross the end of its paragraph
            # (a blank line, a heading, a quote...), where markdown-it's image ends
            # unclosed and what follows is read as blocks of their own: an image
            # written there is shown, so it is searched for too (cheaper than telling
            # the blocks apart exactly; the outer one is kept all the same).
            after.append((end_alt + 1, nxt))
        pos, limit = i + 2, end_alt


def _escaped(text: str, i: int) -> bool:
    """Whether ``text[i]`` follows an odd run of backslashes: ``\\![a](url)`` is a "!"
    and a link to markdown-it, no image (and one no one sees must not take the place
    of a real one within ``fetch.max_images_per_item``)."""
    start = i
    while start and text[start - 1] == "\\":
        start -= 1
    return (i - start) % 2 == 1


_BRACKET_OR_ESCAPE = re.compile(r"\\.|[\[\]]", re.DOTALL)
# ... and what markdown-it skips whole inside a label: a run of backticks (a code span
# when a run as long closes it), an autolink (a URL or an e-mail address in <>)
_BRACKET_ESCAPE_OR_SPAN = re.compile(
    r"\\.|[\[\]]|`+|<[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^<>\x00-\x20]*>"
    r"|<[A-Za-z0-9.!#$%&'*+/=?^_`{|}~\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*>",
    re.DOTALL,
)
_BACKTICKS = re.compile(r"`+")
# The start of a line that ends the paragraph before it (so any code span in it): a
# blank line (in a block quote too), a fence, an ATX heading, a thematic break or
# setext underline, a list item that may interrupt a paragraph. Lines that may not end
# it (a block quote's ">") are left out: there a span is let run on, as before.
_PARAGRAPH_BREAK = re.compile(
    r"^(?:[ \t]*+>)*(?:[ \t]*+$| {0,3}(?:`{3}|~{3}|#{1,6}(?:[ \t]|$)"
    r"|([-*_])(?:[ \t]*+\1){2,}[ \t]*+$|=++[ \t]*+$|-++[ \t]*+$"
    r"|[-+*][ \t]++\S|1[.)][ \t]++\S))",
    re.MULTILINE,
)


def _bracket_pairs(text: str, *, skip_spans: bool = False) -> dict[int, int]:
    """Index of each ``[`` -> index of its ``]`` (nesting, escapes), in one pass:
    scanning from every ``![`` instead is quadratic on hostile text. ``skip_spans``:
    brackets inside code spans and autolinks do not count (markdown-it's labels)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    if not skip_spans:
        for m in _BRACKET_OR_ESCAPE.finditer(text):
            if m.group() == "[":
                stack.append(m.start())
            elif m.group() == "]" and stack:
                pairs[stack.pop()] = m.start()
        return pairs
    # the backtick runs of each length, where they start: a code span's closer is the
    # next run as long (found by bisection: no rescan per opener)
    runs: dict[int, list[int]] = {}
    for m in _BACKTICKS.finditer(text):
        runs.setdefault(m.end() - m.start(), []).append(m.start())
    # a span's closer is in its paragraph: markdown-it parses each paragraph's inline
    # text alone, and backticks no run closes there are literal
    breaks = [m.start() for m in _PARAGRAPH_BREAK.finditer(text)] if runs else []
    pos = 0
    while (found := _BRACKET_ESCAPE_OR_SPAN.search(text, pos)) is not None:
        token, pos = found.group(), found.end()
        if token == "[":
            stack.append(found.start())
        elif token == "]":
            if stack:
                pairs[stack.pop()] = found.start()
        elif token[0] == "`":
            starts = runs.get(len(token), [])
            k = bisect.bisect_left(starts, pos)
            b = bisect.bisect_left(breaks, pos)
            if k < len(starts) and (b == len(breaks) or starts[k] < breaks[b]):
                pos = starts[k] + len(token)  # past the code span
    return pairs


_MAX_PAREN_DEPTH = 32  # as markdown-it: it bounds the work on hostile text too
# runs parsing passes over in one step (a long URL is not read a character at a time)
_PLAIN_DESTINATION = re.compile(r"[^ \x00-\x1f\x7f\\()]+")
_PLAIN_ANGLED = re.compile(r"[^\n<>\\]+")
# markdown-it's validateLink: an image with any other destination of these schemes is
# no image, and parsing goes on inside it (where another one may be)
_BAD_SCHEME = re.compile(r"(?:vbscript|javascript|file|data):", re.IGNORECASE)


def _inline_destination(text: str, j: int) -> tuple[str, str | None, int] | None:
    """Parse ``url "title")`` from just after ``(`` as markdown-it's image rule does:
    (url, title, index after ``)``), or None where markdown-it sees no image (an
    unbalanced or refused destination: then one inside it may be an image)."""
    j = _skip_space(text, j)
    parsed = _destination(text, j)
    if parsed is None:
        return None
    url, j = parsed
    unescaped = _unescape(url).strip()
    if _BAD_SCHEME.match(unescaped) and not _DATA_IMAGE.match(unescaped):
        return None
    after = j
    j = _skip_space(text, j)
    title = None
    if j != after and (found := _title(text, j)) is not None:
        title, j = found
        j = _skip_space(text, j)
    if j < len(text) and text[j] == ")":
        return url, title, j + 1
    return None


def _destination(text: str, j: int) -> tuple[str, int] | None:
    """markdown-it's parseLinkDestination: ``<...>`` (no newline, no ``<``, escapes
    skipped) or a run without spaces or control characters whose parentheses balance;
    (the destination as written, the index after it)."""
    n = len(text)
    if j < n and text[j] == "<":
        k = j + 1
        while k < n:
            if m := _PLAIN_ANGLED.match(text, k):
                k = m.end()
                continue
            c = text[k]
            if c == ">":
                return text[j + 1 : k], k + 1
            if c != "\\":  # a newline or "<"
                return None
            k += 2 if k + 1 < n else 1
        return None
    k, depth = j, 0
    while k < n:
        if m := _PLAIN_DESTINATION.match(text, k):
            k = m.end()
            continue
        c = text[k]
        if c == "\\" and k + 1 < n:
            if text[k + 1] == " ":
                break
            k += 2
            continue
        if c == "(":
            depth += 1
            if depth > _MAX_PAREN_DEPTH:
                return None
        elif c == ")":
            if depth == 0:
                break
            depth -= 1
        elif c != "\\":  # a space or a control character
            break
        k += 1
    if k == j or depth:
        return None
    return text[j:k], k


def _title(text: str, j: int) -> tuple[str, int] | None:
    """markdown-it's parseLinkTitle: ``"..."``, ``'...'`` or ``(...)`` (no ``(`` in
    it), escapes skipped; (the title as written, the index after it)."""
    if j >= len(text) or text[j] not in "\"'(":
        return None
    closer = ")" if text[j] == "(" else text[j]
    k = j + 1
    while k < len(text):
        c = text[k]
        if c == closer:
            return text[j + 1 : k], k + 1
        if c == "(" and closer == ")":
            return None
        k += 2 if c == "\\" else 1
    return None


def _reference(
    text: str, alt_start: int, end_alt: int, nxt: int, closing: dict[int, int], limit: int
) -> tuple[str, int]:
    """``![alt][label]``, ``![label][]`` or ``![label]``: the label, next index (the
    image ends before ``limit``)."""
    label = text[alt_start:end_alt]
    if nxt < limit and text[nxt] == "[":
        close = closing.get(nxt)
        if close is not None and close < limit:
            explicit = text[nxt + 1 : close]
            label, nxt = (explicit or label), close + 1
    return _label(label), nxt


# markdown-it's unescapeAll: a backslash before ASCII punctuation, and an entity (named,
# decimal or hex, with its ";"), as the browser gets the destination
_ESCAPE_OR_ENTITY = re.compile(r"\\([!-/:-@\[-`{-~])|&([A-Za-z#][A-Za-z0-9]{1,31});")
_DIGITAL_ENTITY = re.compile(r"#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,8}))")


def _valid_entity_code(code: int) -> bool:
    """markdown-it's isValidEntityCode: no surrogate, non-character or control code."""
    return not (
        0xD800 <= code <= 0xDFFF
        or 0xFDD0 <= code <= 0xFDEF
        or code & 0xFFFF in (0xFFFE, 0xFFFF)
        or code <= 0x08
        or code == 0x0B
        or 0x0E <= code <= 0x1F
        or 0x7F <= code <= 0x9F
        or code > 0x10FFFF
    )


def _entity(m: re.Match[str]) -> str:
    """markdown-it's replaceEntityPattern: a numeric reference of up to eight digits is
    its character when valid, else stays as written (``&#128;`` is no ``€``); any other
    is decoded as HTML decodes it (``html.unescape``, as its ``decodeHTML``)."""
    if m[1]:
        return m[1]
    if digital := _DIGITAL_ENTITY.fullmatch(m[2]):
        code = int(digital[1], 16) if digital[1] else int(digital[2])
        return chr(code) if _valid_entity_code(code) else m[0]
    return html.unescape(m[0])


def _unescape(url: str) -> str:
    """A markdown destination as markdown-it hands it to the browser (``a\\_b.jpg`` is
    ``a_b.jpg``, ``?a=1&amp;b=2`` is ``?a=1&b=2``): the URL people's browsers ask for."""
    if "\\" not in url and "&" not in url:
        return url
    return _ESCAPE_OR_ENTITY.sub(_entity, url)


_QUOTE_MARKERS = re.compile(r"\n[ \t]*+(?:>[ \t]*+)*")
# JavaScript's \s, which markdown-it's normalizeReference folds: not Python's white
# space (no \x1c-\x1f, no \x85; \ufeff is one)
_JS_SPACES = re.compile("[\t\n\v\f\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+")


def _label(label: str) -> str:
    """A label as markdown-it matches it (normalizeReference): white space folded to
    one space and trimmed, ``toLowerCase().toUpperCase()`` (not ``casefold()``: to
    markdown-it dotless i and ``I`` are one label), a block quote's ``>`` at the start of
    each of its lines taken off."""
    if "\n" in label:
        label = _QUOTE_MARKERS.sub(" ", label)
    return _JS_SPACES.sub(" ", label).strip(" ").lower().upper()


def _unquote_title(title: str | None) -> str | None:
    return title[1:-1] if title else None


def _skip_space(text: str, j: int) -> int:
    while j < len(text) and text[j] in " \t\n":
        j += 1
    return j


# --- code: what no reader sees as an image ----------------------------------------

_LINE = re.compile(r"[^\n]*\n?")
_QUOTE_PREFIX = re.compile(r"(?: {0,3}>[ \t]?)*")
_LIST_MARKERS = re.compile(r"(?:[ \t]*+(?:[-+*]|[0-9]{1,9}[.)])(?:[ \t]++|$))+")
_FENCE_OPEN = re.compile(r"(?P<indent> {0,3})(?P<fence>`{3,}(?=[^`]*$)|~{3,})")
# a footnote's definition (markdown-it-footnote: no space in its label)
_FOOTNOTE_START = re.compile(r" {0,3}\[\^[^\] \n]+\]:")
_OPENS_OTHER_BLOCK = re.compile(r" {0,3}(?:#{1,6}(?:[ \t]|$)|(?:[-*_][ \t]*){3,}$)")


def _columns(line: str) -> int:
    """The indentation of ``line`` in columns (a tab to the next multiple of 4)."""
    column = 0
    for c in line:
        if c == " ":
            column += 1
        elif c == "\t":
            column += 4 - column % 4
        else:
            break
    return column


def _code_ranges(text: str) -> list[tuple[int, int]]:
    """Where ``text`` holds code markdown-it shows as code, not images: fenced and
    indented code blocks (in block quotes and list items too) and code spans; sorted,
    apart. Where it cannot tell cheaply it says "no code": an image taken for code
    is checked after the others, so what is kept here is only what is sure (an indented
    line is code only four columns past the deepest list item seen, a code span does
    not cross a paragraph's end)."""
    ranges: list[tuple[int, int]] = []
    paragraph: list[int] = []  # the current paragraph's start and end, for code spans
    # character, length, depth, the column of the container that holds it
    fence: tuple[str, int, int, int] | None = None
    indented_depth = -1  # the quote depth of the indented block we are in; -1: none
    list_column = 0  # content column of the deepest list item since lists last ended
    blank_before, depth_before = True, 0
    pos = 0
    spans = _Spans(text)
    for m in _LINE.finditer(text):
        line, start = m.group(), m.start()
        if not line:
            break
        pos = m.end()
        rest = line.rstrip("\r\n")
        quotes = _QUOTE_PREFIX.match(rest)  # always matches, "" too
        prefix = quotes.group() if quotes else ""
        depth, rest = prefix.count(">"), rest[len(prefix) :]
        blank, indent = not rest.strip(), _columns(rest)
        if fence is not None:
            char, length, fence_depth, fence_indent = fence
            ends = depth < fence_depth or (not blank and indent < fence_indent)
            if not ends:
                ranges.append((start, pos))
                if rest.strip().strip(char) == "" and len(rest.strip()) >= length:
                    fence = None  # its closing line
                blank_before, depth_before = blank, depth
                continue
            fence = None  # a block quote or list item it was in ended
        if indented_depth >= 0:
            if depth == indented_depth and (blank or indent >= 4 + list_column):
                ranges.append((start, pos))
                blank_before, depth_before = blank, depth
                continue
            indented_depth = -1
        if blank or depth != depth_before:
            spans.add(paragraph, ranges)
            paragraph = []
        fresh = blank_before or depth > depth_before
        body, markers = rest, _LIST_MARKERS.match(rest)
        footnote = None if markers else _FOOTNOTE_START.match(rest)
        if markers and not _OPENS_OTHER_BLOCK.match(rest):
            width = len(rest[: markers.end()].expandtabs(4))  # where the item's text starts
            list_column = max(list_column, width)
            body = " " * width + rest[markers.end() :]
        elif footnote:
            # markdown-it-footnote: its text goes on on lines four columns in, as a
            # list item's does (code is four columns past that)
            width = _columns(rest) + 4
            list_column = max(list_column, width)
            body = " " * width + rest[footnote.end() :].lstrip(" \t")
        elif not blank and fresh and indent >= 4 + list_column:
            indented_depth = depth
            ranges.append((start, pos))
            blank_before, depth_before = blank, depth
            continue
        elif not blank and fresh and indent == 0 and depth == 0:
            list_column = 0  # a paragraph at the left margin ends every list
        stripped = body.lstrip(" ")
        opener = _FENCE_OPEN.match(stripped)
        if opener and _columns(body) - (len(body) - len(stripped)) <= 3:
            spans.add(paragraph, ranges)
            paragraph = []
            fence_char = opener["fence"][0]
            # a line left of the list item (or footnote) holding the fence ends it; the
            # fence's own indentation (up to three spaces) is no container's
            fence = (fence_char, len(opener["fence"]), depth, min(_columns(body), list_column))
            ranges.append((start, pos))
        elif not blank:
            if markers or footnote or _OPENS_OTHER_BLOCK.match(rest):  # a new block
                spans.add(paragraph, ranges)
                paragraph = []
            paragraph = [paragraph[0] if paragraph else start, pos]
        blank_before, depth_before = blank, depth
    spans.add(paragraph, ranges)
    ranges.sort()
    return ranges


_SPAN_TOKEN = re.compile(r"\\.|`+|!?\[", re.DOTALL)


class _Spans:
    """The code spans of a text's paragraphs: left to right as markdown-it reads them,
    a backtick run closed by the next run as long, past escapes and past a link's or
    an image's ``[...](...)`` (a backtick in its address is no code span's)."""

    def __init__(self, text: str) -> None:
        self.text = text
        # made at the first paragraph with a backtick, once: per paragraph it would be
        # quadratic on a hostile text of many
        self._runs: dict[int, list[int]] | None = None
        self._closing: dict[int, int] | None = None

    def add(self, paragraph: list[int], ranges: list[tuple[int, int]]) -> None:
        """Add the code spans of ``text[start:end]`` (``paragraph``) to ``ranges``."""
        text = self.text
        if not paragraph or "`" not in text[paragraph[0] : paragraph[1]]:
            return
        start, end = paragraph
        pos = start
        while (token := _SPAN_TOKEN.search(text, pos, end)) is not None:
            found, pos = token.group(), token.end()
            if found[0] == "`":
                close = self._closer(len(found), pos, end)
                if close is not None:
                    ranges.append((token.start(), close))
                    pos = close
            elif found[-1] == "[":
                if self._closing is None:
                    self._closing = _bracket_pairs(text)
                label_end = self._closing.get(pos - 1)
                if label_end is not None and text[label_end + 1 : label_end + 2] == "(":
                    parsed = _inline_destination(text, label_end + 2)
                    if parsed is not None and parsed[2] <= end:
                        pos = parsed[2]

    def _closer(self, length: int, after: int, end: int) -> int | None:
        """The end of the next run of ``length`` backticks from ``after`` before ``end``."""
        if self._runs is None:
            self._runs = {}
            for m in _BACKTICKS.finditer(self.text):
                self._runs.setdefault(m.end() - m.start(), []).append(m.start())
        starts = self._runs.get(length, [])
        k = bisect.bisect_left(starts, after)
        if k < len(starts) and starts[k] + length <= end:
            return starts[k] + length
        return None


# The opening line of lemmy-ui's spoiler (markdown-it-container, validated by
# /^spoiler\s+(.*)$/ on its trimmed parameters), in block quotes and list items too:
# its title is rendered with emphasis, strikethrough and code only, never an image
_SPOILER_TITLE = re.compile(
    rf"^{_CONTAINERS}[ \t]*+:{{3,}}[ \t]*+spoiler[^\S\n]++(?P<title>[^\s][^\n]*)$",
    re.MULTILINE,
)


def _spoiler_titles(text: str) -> list[tuple[int, int]]:
    """Where the titles of ``text``'s spoilers are (``::: spoiler title``): what is
    written there is shown as text, no image in it is seen (sorted, apart)."""
    return [m.span("title") for m in _SPOILER_TITLE.finditer(text)]


def _inside(ranges: list[tuple[int, int]], at: int) -> bool:
    k = bisect.bisect_right(ranges, at, key=lambda r: r[0]) - 1
    return k >= 0 and at < ranges[k][1]


def _is_custom_emoji(
    ref: ImageRef, title: str | None, instance_url: str, emojis: frozenset
) -> bool:
    # A title alone never hides an image: anyone can write "emoji x" on any image.
    if not title or not title.startswith("emoji "):
        return False
    return _dedupe_key(ref.url, instance_url) in emojis


# --- URLs and de-duplication -----------------------------------------------------


# A post's few URLs are split a dozen times over (its link, the proxy's original, the
# alias, the thumbnail's host, de-duplication), and the instance's own URL for every
# one: ~0.1 ms of the deciding thread an item, which caps how fast a GPU is fed. The
# splits are kept for URLs of ordinary length (bounded: a hostile comment's long URLs
# are split each time and never fill the cache).
_CACHED_URL_CHARS = 2048


def _split(url: str) -> SplitResult | None:
    """``urlsplit`` of an absolute http(s) URL with a host, else None."""
    if len(url) > _CACHED_URL_CHARS:
        return _split_now(url)
    return _split_cached(url)


def _split_now(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return parts


_split_cached = lru_cache(maxsize=1024)(_split_now)


_DOT_SEGMENTS = re.compile(r"(?:^|/)(?:\.|%2e){1,2}(?:/|$)", re.IGNORECASE)


def _path(parts: SplitResult) -> str:
    """The path a browser asks for: without the ``.`` and ``..`` segments (``%2e`` too)
    it resolves first (WHATWG URL), so ``/pictrs/image/./ALIAS`` is that upload, not
    a remote image that nothing can purge."""
    path = parts.path
    if not _DOT_SEGMENTS.search(path):
        return path
    segments: list[str] = []
    names = path.split("/")[1:]
    for number, name in enumerate(names, start=1):
        dots = name.lower().replace("%2e", ".")
        if dots not in (".", ".."):
            segments.append(name)
            continue
        if dots == ".." and segments:
            segments.pop()
        if number == len(names):  # "/a/." and "/a/b/.." are "/a/"
            segments.append("")
    return "/" + "/".join(segments)


def _netloc(parts: SplitResult) -> str:
    if len(parts.netloc) > _CACHED_URL_CHARS:
        return _netloc_now(parts)
    return _netloc_cached(parts.scheme, parts.netloc)


def _netloc_now(parts: SplitResult) -> str:
    host = _host_as_sent(parts.hostname or "")
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    port = parts.port
    return host if port in (None, default) else f"{host}:{port}"


@lru_cache(maxsize=256)
def _netloc_cached(scheme: str, netloc: str) -> str:
    # hostname and port depend on these two alone
    return _netloc_now(SplitResult(scheme, netloc, "", "", ""))


# What no host holds once percent-decoded (the WHATWG URL standard's forbidden domain
# code points): browsers show nothing for such a URL
_FORBIDDEN_IN_HOST = re.compile(r"[\x00-\x20#/:<>?@\[\\\]^|%\x7f]")


def decoded_host(host: str) -> str:
    """``host`` (from urlsplit) percent-decoded, as browsers read it: the WHATWG host
    parser decodes a host before anything else (``%69mgur.com`` is ``imgur.com``, and
    Lemmy's Markdown keeps the escapes as written). ``ValueError`` saying why when it
    decodes to what no host holds. An IPv6 address is left as written. (The one reading
    for finding images and for fetching them.)"""
    if "%" not in host or ":" in host:
        return host
    try:
        decoded = unquote_to_bytes(host).decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{host!r} percent-decodes to bytes that are not UTF-8") from None
    if _FORBIDDEN_IN_HOST.search(decoded):
        raise ValueError(f"{host!r} percent-decodes to a character no host name holds")
    return decoded.lower()


def _host_as_sent(host: str) -> str:
    """A host name as the HTTP client sends it: percent-decoded first, as browsers and
    the fetcher read it (``lemmy%2Eexample`` is the instance: its upload, not a remote
    image nothing can purge); a Unicode name in its IDNA form (``bücher.example`` is
    ``xn--bcher-kva.example``: the same request, so one image, not two downloads); a
    name that decodes or encodes to no host name as it is (the fetcher refuses it)."""
    try:
        host = decoded_host(host)
    except ValueError:
        return host
    if host.isascii():
        return host
    try:
        return (URL(scheme="http", host=host).raw_host or b"").decode("ascii") or host
    except (InvalidURL, ValueError, UnicodeError):
        return host


# a host's final dot ("lemmy.example.:8536"), before the port if any
_FINAL_DOT = re.compile(r"\.(?=(?::[0-9]*)?\Z)")


def _same_host(parts: SplitResult, instance_url: str) -> bool:
    """Whether ``parts`` is on the instance: the same host and port, a final dot or
    not (``https://lemmy.example./pictrs/image/A``: browsers resolve the same name and
    nginx drops the dot, so it is the instance's upload). Only here: on another host
    the dot is another Host header, which a hostile server may answer otherwise."""
    instance = _split(instance_url)
    if instance is None:
        return False
    return _FINAL_DOT.sub("", _netloc(parts), 1) == _FINAL_DOT.sub("", _netloc(instance), 1)


def _own_original(url: str, instance_url: str) -> str | None:
    """The original behind the instance's own image proxy; None for a proxy-looking URL
    on another host: browsers show that host's answer, which need not be the original
    its ``url=`` names (a decoy), so that URL is fetched as written."""
    parts = _split(url)
    if parts is None or not _same_host(parts, instance_url):
        return None
    return unwrap_proxy(url)


def _dedupe_key(url: str, instance_url: str) -> str:
    """One key per image: the pict-rs alias for local uploads, else the normalised
    original URL (scheme/host case, default port, fragment and percent-encoding as a
    browser sends it (``%7E`` is ``~``, a space ``%20``) do not matter)."""
    original = _own_original(url, instance_url) or url
    alias = pictrs_alias(original, instance_url)
    if alias:
        return f"pictrs:{alias}"
    parts = _split(original)
    if parts is None:
        return original
    path, query = _encoded(_path(parts) or "/"), _encoded(parts.query)
    return urlunsplit((parts.scheme.lower(), _netloc(parts), path, query, ""))


_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SAFE = "!#$%&'()*+,/:;=?@[]~"  # kept as they are by quote() below
# a part of only these is already in its one encoding
_AS_IS = frozenset(bytes(_UNRESERVED).decode() + _SAFE.replace("%", ""))


def _encoded(part: str) -> str:
    """A path or query in one percent-encoding (RFC 3986 6.2.2): an unreserved character
    as itself, other escapes in upper case, a space or non-ASCII character escaped as
    the browser sends it; ``%2F``, ``%26`` and the like stay escapes (another URL)."""
    if all(c in _AS_IS for c in part):
        return part
    part = _PERCENT.sub(
        lambda m: chr(int(m[1], 16)) if int(m[1], 16) in _UNRESERVED else m[0].upper(), part
    )
    return quote(part, safe=_SAFE)


# The order an item's images are checked in, and so which are within
# fetch.max_images_per_item (and first downloaded within fetch.item_timeout): a post's
# link and its thumbnail, what every listing shows of it, before its body's images.
_CHECK_ORDER = ("post_url", "thumbnail")


def _dedupe(refs: list[tuple[ImageRef, bool]], instance_url: str) -> list[ImageRef]:
    """One ref per image, at its most significant location (``SIGNIFICANCE``); in the
    order they are checked in (``_CHECK_ORDER`` first, then as found, those no reader
    sees (code, footnotes: ``_markdown_refs``) after the rest)."""
    best: dict[str, tuple[int, int, ImageRef]] = {}
    # the earliest place in _CHECK_ORDER of any location the image has: a thumbnail
    # also written in the body (kept as `body`, more significant) is still checked first
    first: dict[str, int] = {}
    unseen: dict[str, bool] = {}  # shown in no place it is written (each, or not)
    for order, (ref, unshown) in enumerate(refs):
        key = _dedupe_key(ref.url, instance_url)
        rank = SIGNIFICANCE.index(ref.location)
        at = _CHECK_ORDER.index(ref.location) if ref.location in _CHECK_ORDER else 99
        first[key] = min(first.get(key, 99), at)
        unseen[key] = unseen.get(key, True) and unshown
        if key not in best or rank < best[key][0]:
            best[key] = (rank, order, ref)
    ordered = sorted(best.items(), key=lambda kv: (first[kv[0]], unseen[kv[0]], kv[1][0], kv[1][1]))
    return [ref for _, (_, _, ref) in ordered]
