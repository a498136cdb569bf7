"""An `allow_hosts` entry written in Unicode (`bücher.example:8080`) matches the
requests made to that host, which the HTTP client dials IDNA-encoded
(`xn--bcher-kva.example`). Before, it matched nothing: the host on a private address
stayed refused whatever the entry said."""

from __future__ import annotations

from modbot.fetch.addresses import HostPolicy


def test_a_unicode_entry_matches_the_host_as_dialled() -> None:
    policy = HostPolicy(["bücher.example:8080", "ÉCOLE.example:*"])
    assert policy.may_be_private("xn--bcher-kva.example", 8080)
    assert policy.names_port("xn--bcher-kva.example", 8080)
    assert not policy.may_be_private("xn--bcher-kva.example", 8081)
    assert policy.may_be_private("xn--cole-9oa.example", 22)


def test_an_ascii_entry_is_unchanged() -> None:
    policy = HostPolicy(["images.example", "[::1]:9000"])
    assert policy.may_be_private("images.example", 443)
    assert policy.may_be_private("::1", 9000)
    assert not policy.may_be_private("images.example", 8080)
