"""The hash-sharing commands' own command lines: a mistake in an option is a usage error
(exit status 2, one line naming the option), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from modbot.cli import main

KEY = "ed25519:A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="


def test_feed_verify_with_a_max_age_that_is_no_duration_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "hashes.json"
    feed.write_text("{}")
    with pytest.raises(SystemExit) as info:
        main(["feed", "verify", str(feed), "--key", KEY, "--max-age", "a week"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --max-age: expected a duration like 30s" in err
    assert "Traceback" not in err


def test_hash_says_which_exit_status_a_wrong_command_line_has(
    capsys: pytest.CaptureFixture[str],
) -> None:
    coffee = Path(__file__).parent / "data" / "coffee.jpg"
    assert main(["hash", "--format", "threatexchange", "--kind", "md5", str(coffee)]) == 2
    assert "holds pdq hashes only" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["hash", "--help"])
    assert "2 the command line is wrong" in " ".join(capsys.readouterr().out.split())


def test_feed_verify_asks_for_the_signature_where_subscribers_do(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A feed behind a token (`?access_token=...`): its signature is behind the same
    token, at the path + ".sig" (`modbot.feeds.signature_url`, what a subscriber asks),
    not at the URL + ".sig" (the token's value + ".sig")."""
    from types import SimpleNamespace

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from modbot import fetch
    from modbot.feeds import make_feed, public_key_text, sign_feed

    key = Ed25519PrivateKey.generate()
    body, sig = sign_feed(make_feed("feeds.example", []), key)
    url = "https://feeds.example/feed/hashes.json?access_token=s3cret"
    served = {url: body, "https://feeds.example/feed/hashes.json.sig?access_token=s3cret": sig}
    asked: list[str] = []

    class Fetcher:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        async def __aenter__(self) -> Fetcher:
            return self

        async def __aexit__(self, *exc: object) -> None:
            return None

        async def fetch_file(self, u: str, **kwargs: object) -> SimpleNamespace:
            asked.append(u)
            if u not in served:
                raise fetch.FetchSkipped(u, "the server answered HTTP 404", "http_404")
            return SimpleNamespace(data=served[u], etag=None, last_modified=None)

    import modbot.subscriptions  # feed verify downloads through the subscriber's code

    monkeypatch.setattr(fetch, "Fetcher", Fetcher)
    monkeypatch.setattr(modbot.subscriptions, "Fetcher", Fetcher)
    assert main(["feed", "verify", url, "--key", public_key_text(key)]) == 0, capsys.readouterr()
    assert asked == list(served)
    assert capsys.readouterr().out.startswith("valid: feeds.example")


def test_a_pdq_list_printed_by_hash_leaves_out_a_low_quality_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`modbot hash --kind pdq` prints a list file; a PDQ below quality 50 (a flat
    image) is in it as a comment: a list entry of known low quality is not used."""
    import io

    from PIL import Image

    from modbot.hashes import HashList

    flat = tmp_path / "flat.png"
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (128, 128, 128)).save(out, "PNG")
    flat.write_bytes(out.getvalue())
    coffee = Path(__file__).parent / "data" / "coffee.jpg"
    assert main(["hash", "--kind", "pdq", str(coffee), str(flat)]) == 0
    printed = capsys.readouterr().out
    low = printed.splitlines()[1]
    assert low.startswith("# ") and low.endswith("  # quality 0: below 50, matches nothing")
    listed = tmp_path / "list.pdq"
    listed.write_text(printed)
    loaded = HashList.load(listed, "pdq")
    assert len(loaded) == 1 and list(loaded.index.payloads) == [1]


def test_feed_publish_wont_name_the_feed_after_an_internal_lemmy_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """LEMMY_URL may be Lemmy's internal URL (http://lemmy:8536 in Docker, as the compose
    file suggests); a feed named "lemmy:8536" is one every subscriber refuses (it is not
    the host they fetch it from), so publish asks for --instance instead of writing it."""
    key, out = tmp_path / "feed.key", tmp_path / "hashes.json"
    assert main(["keys", "--out", str(key)]) == 0
    capsys.readouterr()
    monkeypatch.setenv("MODBOT_STATE", str(tmp_path / "state.db"))
    monkeypatch.setenv("LEMMY_URL", "http://bot:hunter2secret@lemmy:8536")
    assert main(["feed", "publish", "--key", str(key), "--out", str(out)]) == 1
    shown = capsys.readouterr()
    assert shown.err == (
        "modbot feed publish: LEMMY_URL's host 'lemmy:8536' is no public host name (an "
        "internal URL?): give --instance HOST, the host subscribers fetch your feed from\n"
    )
    assert not out.exists() and "hunter2secret" not in shown.out + shown.err
