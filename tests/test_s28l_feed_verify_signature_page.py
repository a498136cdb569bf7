"""`modbot feed verify URL` says of a web page where the signature should be what the
subscriber says (``modbot.subscriptions.SIGNATURE_NOT_THERE``): that it is no modbot
signature and what to check, not a limit of 1025 bytes the docs never give."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_hash_feeds import peer_feed, signed_feed

from fakelemmy import FakeLemmy
from modbot.cli import main
from modbot.feeds import public_key_text


@pytest.mark.parametrize("length", ["announced", "endless"])
def test_feed_verify_says_a_web_page_is_no_signature(
    fake_lemmy: FakeLemmy, tmp_path: Path, capsys, length: str
) -> None:
    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = f"{lemmy.remote_url}/hashes.json"
    key, _, store = peer_feed(lemmy, tmp_path, url)
    store.close()
    body, _ = signed_feed(key, datetime.now(UTC))
    lemmy.add_remote_file("hashes.json", body, content_type="application/json")
    # a site's catch-all page, answered 200 for the file it does not have
    page = b"<!DOCTYPE html><html><body>" + b"Not here. " * 300 + b"</body></html>"
    if length == "announced":
        lemmy.add_remote_file("hashes.json.sig", page, content_type="text/html")
    else:
        lemmy.add_remote_behaviour("hashes.json.sig", page, content_type="text/html", endless=True)

    verify = ["feed", "verify", url, "--key", public_key_text(key), "--allow-host", remote]
    assert main(verify) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "1025" not in err
    assert (
        "too_large: the signature file is over 1,024 bytes: not a modbot feed signature, "
        "which is 4 short lines; check that the publisher serves the signature beside the "
        "feed, at this address (a web server may answer a page of its own for a file it "
        f"does not have) ({url}.sig)"
    ) in err, err
