"""A feed subscribed by a URL with the scheme's own port written out
(`https://lemmy.example:443/hashes.json`), a final dot or a non-ASCII host names the
same instance the publisher writes (`lemmy.example`, IDNA): before, it was refused as
`wrong_instance` against its own feed."""

from __future__ import annotations

from pathlib import Path

from modbot.config.schema import FeedSettings
from modbot.feeds import generate_key


def _feed(tmp_path: Path, url: str) -> FeedSettings:
    key = generate_key(tmp_path / "feed.key", overwrite=True)
    return FeedSettings(url=url, key=key, use="known-bad")


def test_the_publisher_is_the_host_as_lemmy_names_it(tmp_path: Path) -> None:
    for url, named in (
        ("https://lemmy.example:443/hashes.json", "lemmy.example"),
        ("http://lemmy.example:80/hashes.json", "lemmy.example"),
        ("https://Lemmy.Example./hashes.json", "lemmy.example"),
        ("https://user:pw@lemmy.example/hashes.json", "lemmy.example"),
        ("https://bücher.example/hashes.json", "xn--bcher-kva.example"),
        ("https://straße.example/hashes.json", "xn--strae-oqa.example"),  # not strasse
        ("https://lemmy.example:8443/hashes.json", "lemmy.example:8443"),
        ("http://lemmy.example:443/hashes.json", "lemmy.example:443"),
        ("https://[2001:DB8::1]:8443/hashes.json", "[2001:db8::1]:8443"),
    ):
        assert _feed(tmp_path, url).publisher == named, url


def test_instance_written_in_rules_wins(tmp_path: Path) -> None:
    settings = _feed(tmp_path, "https://cdn.example:443/hashes.json")
    settings = settings.model_copy(update={"instance": "Lemmy.Example"})
    assert settings.publisher == "lemmy.example"
