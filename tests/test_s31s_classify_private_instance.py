"""`modbot classify URL` on a private instance's own image (Lemmy answers its image
routes 401 without a login): with LEMMY_URL, LEMMY_USERNAME and LEMMY_PASSWORD set (the
bot's .env) it reads the image with the bot's login, as the bot does, on LEMMY_URL's
image routes only; without them, the error says what to set."""

from __future__ import annotations

from concurrent.futures import Future

import pytest

from classifier.verdict import Verdict
from fakelemmy.scenarios import PASSWORD
from modbot.cli import build_parser
from modbot.cli import classify as command


class StandIn:
    random_weights = False

    def __init__(self) -> None:
        self.given: list[bytes] = []

    def submit(self, data: bytes) -> Future:
        self.given.append(data)
        future: Future = Future()
        future.set_result(Verdict((), {"nsfw": -0.1}, {}, {}, "stand-in", False, "v1"))
        return future

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def classify(monkeypatch, engine, *argv: str) -> int:
    monkeypatch.delenv("MODBOT_RULES", raising=False)
    monkeypatch.setattr(command, "_engine_from_options", lambda args: engine)
    args = build_parser().parse_args(["classify", "--model", "stand-in", *argv])
    return args.func(args)


def make_private(lemmy) -> None:
    lemmy.state.site.private_instance = True
    lemmy.state.site.federation_enabled = False


@pytest.mark.both_lemmys
def test_an_own_image_of_a_private_instance_is_read_with_the_bots_login(
    fake_lemmy, photos, monkeypatch, capsys
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    make_private(lemmy)
    upload = lemmy.add_upload(cast.alice, photos["coffee"])
    monkeypatch.setenv("LEMMY_URL", lemmy.url)
    monkeypatch.setenv("LEMMY_USERNAME", "modbot")
    monkeypatch.setenv("LEMMY_PASSWORD", PASSWORD)
    for name in ("PICTRS_URL", "PICTRS_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    engine = StandIn()

    status = classify(monkeypatch, engine, upload.url)

    out, _ = capsys.readouterr()
    # before: "cannot read: http_401", exit 1
    assert status == 0, out
    assert f"{upload.url}: no labels" in out
    assert engine.given == [photos["coffee"]]
    reads = [(r.status, r.user) for r in lemmy.requests if r.path.endswith(upload.alias)]
    assert reads == [(401, None), (200, cast.bot.name)]


@pytest.mark.parametrize("fake_lemmy", ["0.19"], indirect=True)
def test_without_the_bots_login_the_error_says_what_to_set(fake_lemmy, photos, monkeypatch, capsys):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    make_private(lemmy)
    upload = lemmy.add_upload(cast.alice, photos["coffee"])
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD"):
        monkeypatch.delenv(name, raising=False)

    status = classify(monkeypatch, StandIn(), upload.url)

    out, _ = capsys.readouterr()
    assert status == 1
    assert f"{upload.url}: cannot read: http_401: " in out
    assert "LEMMY_URL" in out and "LEMMY_USERNAME" in out and "LEMMY_PASSWORD" in out
    reads = [r for r in lemmy.requests if r.path.endswith(upload.alias)]
    assert [(r.status, r.credentials) for r in reads] == [(401, ())]
