"""``modbot doctor``'s findings never show a basic-auth password written in LEMMY_URL
or PICTRS_URL (``user:password@host``): they are printed, and often pasted."""

from __future__ import annotations

import socket

import httpx

from fakelemmy import FakeLemmy
from modbot.lemmy.probe import identify, pictrs_key

SECRET = "TOPSECRET"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_identify_hides_the_password_in_its_findings():
    with FakeLemmy() as lemmy:
        url = lemmy.url.replace("http://", f"http://gate:{SECRET}@")
        lemmy.fail_next("/nodeinfo/2.0.json", status=502)
        bad_gateway = identify(url, speaks=("v3", "v4"))
    nobody = identify(f"http://gate:{SECRET}@127.0.0.1:{closed_port()}", speaks=("v3",))
    for finding in (bad_gateway, nobody):
        assert finding.status == "FAIL"
        assert SECRET not in finding.message and "127.0.0.1" in finding.message


def test_pictrs_key_hides_the_password_in_its_findings(monkeypatch):
    url = f"http://gate:{SECRET}@pictrs.invalid:8080"

    def no_answer(self, *args, **kwargs):
        raise httpx.ConnectError("refused")

    monkeypatch.setattr(httpx.Client, "get", no_answer)
    finding = pictrs_key(url, "key")
    assert finding.status == "FAIL"
    assert SECRET not in finding.message and "pictrs.invalid" in finding.message
