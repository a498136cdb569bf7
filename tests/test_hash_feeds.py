"""Hash feeds between instances, through the commands and the bot: instance A confirms
and publishes a signed feed (`modbot keys`, `modbot confirm`, `modbot feed publish`),
instance B subscribes (`feeds:` in rules.yaml) and acts on A's hashes without running
its classifier, and refuses a tampered feed while keeping the last good copy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.cli import main
from modbot.config.policy import load_policy
from modbot.config.settings import Settings
from modbot.pipeline import Pipeline
from modbot.store import Store

CLASSIFIER = """
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
fetch: {{allow_hosts: ["{remote}"]}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
safety_valve: {{max_destructive_actions_per_hour: 1000}}
"""


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from classifier.tiny import write_random_checkpoint

    return write_random_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny.safetensors")


@pytest.fixture
def two() -> Iterator[tuple[FakeLemmy, FakeLemmy]]:
    with FakeLemmy() as a, FakeLemmy() as b:
        a.cast, b.cast = standard_cast(a), standard_cast(b)
        yield a, b


class Counting:
    """The bot's classifier, counting the images it is asked to classify."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.calls = engine, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    async def classify(self, data: bytes) -> Any:
        self.calls += 1
        return await self.engine.classify(data)


def env_for(lemmy: FakeLemmy, state: Path) -> dict[str, str]:
    return {
        "LEMMY_URL": lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "MODBOT_STATE": str(state),
        "PICTRS_URL": lemmy.pictrs_url,
        "PICTRS_API_KEY": lemmy.pictrs_api_key,
    }


def look(
    lemmy: FakeLemmy, rules: Path, state: Path, *, dry_run: bool = True
) -> tuple[list[dict], int, list[str]]:
    """One dry-run poll of `lemmy` by a bot with these rules: (decisions, classifier
    calls, the warnings about feeds)."""
    from modbot.classify import build_engine

    settings = Settings.from_env(env_for(lemmy, state))
    policy = load_policy(rules)
    engine = Counting(build_engine(policy, None))
    with Pipeline(settings, policy, dry_run=dry_run, engine=engine) as pipeline:
        before = len(pipeline.store.decisions())
        pipeline.poll_once(deep=True)
        records = pipeline.store.decisions()[before:]
        warnings = [w for w in pipeline.warnings if w.startswith("feed")]
    engine.engine.close()
    return records, engine.calls, warnings


def by_post(records: list[dict]) -> dict[Any, dict]:
    return {r["item"]["id"]: r for r in records if r["item"]["kind"] == "post"}


def publish_from_a(
    a: FakeLemmy, photos: dict[str, bytes], tmp_path: Path, checkpoint: Path, monkeypatch
) -> tuple[str, Path]:
    """A sees two images, its admin confirms one bad and one innocent and publishes:
    (public key, the feed file)."""
    cast = a.cast
    for name in ("coffee", "china"):
        a.add_post(
            cast.pics, cast.bob, name=name, url=a.add_remote_file(f"{name}.jpg", photos[name])
        )
    remote = a.remote_url.split("//", 1)[1]
    rules = tmp_path / "a-rules.yaml"
    rules.write_text(CLASSIFIER.format(checkpoint=checkpoint, remote=remote))
    state = tmp_path / "a.sqlite3"
    look(a, rules, state)
    monkeypatch.setenv("MODBOT_STATE", str(state))
    import hashlib

    coffee = hashlib.sha256(photos["coffee"]).hexdigest()
    assert main(["confirm", coffee, "--bad", "--label", "csam"]) == 0
    decision = Store(state).decision_records(sha256=hashlib.sha256(photos["china"]).hexdigest())
    assert main(["confirm", "--decision", str(decision[0][0]), "--innocent"]) == 0
    key = tmp_path / "a.key"
    assert main(["keys", "--out", str(key)]) == 0
    public = (tmp_path / "a.key.pub").read_text().strip()
    out = tmp_path / "site" / "hashes.json"
    out.parent.mkdir()
    args = ["feed", "publish", "--key", str(key), "--out", str(out), "--instance", "a.example"]
    assert main(args) == 0
    return public, out


def serve(b: FakeLemmy, feed: Path) -> str:
    b.add_remote_file("hashes.json", feed.read_bytes(), content_type="application/json")
    b.add_remote_file(
        "hashes.json.sig", Path(f"{feed}.sig").read_bytes(), content_type="text/plain"
    )
    return f"{b.remote_url}/hashes.json"


def b_rules(tmp_path: Path, b: FakeLemmy, checkpoint: Path, url: str, key: str, use: str) -> Path:
    remote = b.remote_url.split("//", 1)[1]
    path = tmp_path / f"b-{use}.yaml"
    (tmp_path / "b-bad.sha256").write_text("")
    path.write_text(
        CLASSIFIER.format(checkpoint=checkpoint, remote=remote)
        + f"""
feeds:
  peer: {{url: "{url}", key: "{key}", use: {use}, instance: a.example}}
hash_lists:
  local-bad: {{kind: sha256, file: b-bad.sha256}}
rules:
  - name: peer says csam
    if: {{labels: csam}}
    then: {{remove: "known abusive image"}}
  - name: known bad
    if: {{hash_list: [{"peer, " if use == "known-bad" else ""}local-bad]}}
    then: {{remove: "known abusive image"}}
"""
    )
    return path


def test_a_publishes_b_acts_without_its_classifier_and_refuses_a_tampered_feed(
    two, photos, tiny_checkpoint, tmp_path, monkeypatch
) -> None:
    a, b = two
    public, feed = publish_from_a(a, photos, tmp_path, tiny_checkpoint, monkeypatch)
    entries = [json.loads(line.rstrip(",")) for line in feed.read_text().splitlines()[1:-1]]
    assert {(e["kind"], e["verdict"], e["label"]) for e in entries} >= {
        ("sha256", "bad", "csam"),
        ("sha256", "innocent", "false-positive"),
    }
    assert all(
        set(e) <= {"kind", "hash", "verdict", "label", "first_seen", "quality"} for e in entries
    )

    url = serve(b, feed)
    rules = b_rules(tmp_path, b, tiny_checkpoint, url, public, "classified")
    cast = b.cast
    shared = b.add_remote_file("coffee.jpg", photos["coffee"])  # the same file, federated
    same = b.add_post(cast.pics, cast.bob, name="same file", url=shared)
    other = b.add_post(
        cast.pics, cast.bob, name="other", url=b.add_remote_file("astro.jpg", photos["astronaut"])
    )
    records, calls, warnings = look(b, rules, tmp_path / "b.sqlite3")
    posts = by_post(records)
    assert calls == 1  # the other image only: the peer's verdict replaced the classifier's
    hit = posts[same.id]
    assert hit["model"] == "feed peer" and hit["labels"] == ["csam"]
    assert hit["rule"] == "peer says csam"
    assert [(x["action"], x["status"]) for x in hit["actions"]] == [("remove", "planned")]
    assert posts[other.id]["model"] != "feed peer"
    assert warnings == []

    # A's feed altered on its way: refused, said why, the last good copy still used.
    tampered = feed.read_bytes().replace(b'"csam"', b'"spam"')
    b.add_remote_file("hashes.json", tampered, content_type="application/json")
    store = Store(tmp_path / "b.sqlite3")
    copy = store.feed_copy("peer")
    assert copy is not None
    store.keep_feed_copy("peer", {**copy, "fetched_at": 0.0})  # due now
    store.close()
    again = b.add_post(cast.pics, cast.alice, name="again", url=shared)
    records, calls, warnings = look(b, rules, tmp_path / "b.sqlite3", dry_run=False)
    (warning,) = warnings
    assert warning.startswith(f"feed 'peer' ({url}) refused: the feed does not match its signature")
    assert "still using the copy of" in warning
    assert calls == 0 and by_post(records)[again.id]["labels"] == ["csam"]
    assert b.post(again.id).removed  # acted on, by the kept copy
    # The admins are told, once: a second cycle warns again but sends no new message.
    (told,) = b.private_messages
    assert "feed 'peer'" in told.content and "refused" in told.content
    look(b, rules, tmp_path / "b.sqlite3", dry_run=False)
    assert len(b.private_messages) == 1


@pytest.mark.parametrize("use", ["known-bad", "allow-list"])
def test_known_bad_and_allow_list_feeds(
    use, two, photos, tiny_checkpoint, tmp_path, monkeypatch
) -> None:
    import hashlib

    a, b = two
    public, feed = publish_from_a(a, photos, tmp_path, tiny_checkpoint, monkeypatch)
    rules = b_rules(tmp_path, b, tiny_checkpoint, serve(b, feed), public, use)
    # B's own list has both files: the allow-list must spare the innocent one.
    (tmp_path / "b-bad.sha256").write_text(
        "".join(hashlib.sha256(photos[n]).hexdigest() + "\n" for n in ("coffee", "china"))
    )
    cast = b.cast
    bad = b.add_post(
        cast.pics, cast.bob, name="bad", url=b.add_remote_file("c.jpg", photos["coffee"])
    )
    fine = b.add_post(
        cast.pics, cast.bob, name="fine", url=b.add_remote_file("d.jpg", photos["china"])
    )
    records, calls, _ = look(b, rules, tmp_path / "b.sqlite3")
    posts = by_post(records)
    assert calls == 2  # these uses do not replace the classifier
    if use == "known-bad":
        assert posts[bad.id]["hash_match"] == {"peer": "feed sha256", "local-bad": "sha256"}
        assert posts[bad.id]["rule"] == "known bad"
    else:
        assert posts[fine.id]["hash_match"] == {"peer": "feed sha256", "local-bad": "sha256"}
        assert posts[fine.id]["exempt"] == "the image is on the allow-list 'peer' (feed sha256)"
        assert posts[fine.id]["actions"] == []
        assert posts[bad.id]["rule"] == "known bad"


def test_check_rules_says_what_is_wrong_with_a_feed(tmp_path: Path, capsys) -> None:
    (tmp_path / "l.sha256").write_text("")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "feeds:\n"
        "  a: {url: https://a.example/hashes.json, key: 'ed25519:abc', use: known-bad}\n"
        "  b: {url: https://b.example/h.json, key: 'ed25519:" + "A" * 43 + "=', use: knownbad}\n"
        "  c: {url: ftp://c.example/h.json, key: 'ed25519:" + "A" * 43 + "=', use: allow-list}\n"
        "  l: {url: https://c.example/h.json, key: 'ed25519:" + "A" * 43 + "=', use: allow-list}\n"
        "hash_lists:\n"
        "  l: {kind: sha256, file: l.sha256}\n"
    )
    assert main(["check-rules", str(rules)]) == 1
    out = capsys.readouterr().out.replace(f"{tmp_path}/", "")
    assert "rules.yaml:2: feeds.a.key: 'ed25519:abc' is not valid base64" in out
    assert "rules.yaml:3: feeds.b.use: unknown feed use 'knownbad'" in out
    assert "rules.yaml:4: feeds.c.url: " in out
    assert "rules.yaml:5: feed 'l' has the name of a hash list" in out


def test_a_newer_copy_kept_by_another_process_is_taken_without_a_fetch(
    tiny_checkpoint, tmp_path
) -> None:
    """The bot and the upload gate share the state file: the copy one of them fetched
    and kept is taken by the other (newer only: never an older one), without a fetch."""
    import hashlib
    import time
    from datetime import UTC, date, datetime, timedelta

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from modbot.feeds import FeedEntry, make_feed, public_key_text, sign_feed
    from modbot.subscriptions import load_kept, refresh

    key = Ed25519PrivateKey.generate()
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        CLASSIFIER.format(checkpoint=tiny_checkpoint, remote="peer.example")
        + "feeds:\n  peer: {url: https://peer.example/hashes.json, "
        f"key: '{public_key_text(key)}', use: known-bad}}\n"
    )
    policy = load_policy(rules)
    store = Store(tmp_path / "state.sqlite3")
    a, b = (hashlib.sha256(n).hexdigest() for n in (b"a", b"b"))
    start = datetime.now(UTC) - timedelta(hours=2)

    def keep(hashes: list[str], generated_at: datetime) -> None:
        entries = [FeedEntry("sha256", h, "bad", "csam", date.today()) for h in hashes]
        feed = make_feed("peer.example", entries, generated_at=generated_at)
        body, signature = sign_feed(feed, key)
        copy = {"body": body, "signature": signature, "fetched_at": time.time()}
        store.keep_feed_copy("peer", {**copy, "generated_at": feed.generated_at.isoformat()})

    peer = policy.feeds["peer"]
    keep([a], start)
    load_kept(store, policy)  # a start
    assert peer.lookup({"sha256": a}) == "feed sha256" and peer.lookup({"sha256": b}) is None

    keep([a, b], start + timedelta(hours=1))  # the other process fetched a newer one
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append)  # fetched just now: no fetch of its own
    assert peer.lookup({"sha256": b}) == "feed sha256" and warnings == []

    keep([a], start)  # an older copy is never taken in place of the one in use
    load_kept(store, policy)
    assert peer.lookup({"sha256": b}) == "feed sha256"
    store.close()


def peer_feed(
    lemmy: FakeLemmy, tmp_path: Path, url: str, **settings: str
) -> tuple[Any, Any, Store]:
    """A subscription to a feed at ``url`` on ``lemmy``'s remote host: (the publisher's
    private key, the policy, the state)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from modbot.feeds import public_key_text

    key = Ed25519PrivateKey.generate()
    extra = "".join(f", {name}: {value}" for name, value in settings.items())
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"feeds:\n  peer: {{url: '{url}', key: '{public_key_text(key)}', use: known-bad, "
        f"instance: peer.example{extra}}}\n"
    )
    return key, load_policy(rules), Store(tmp_path / "state.sqlite3")


def signed_feed(key: Any, generated_at: Any) -> tuple[bytes, bytes]:
    import hashlib
    from datetime import date

    from modbot.feeds import FeedEntry, make_feed, sign_feed

    bad = FeedEntry("sha256", hashlib.sha256(b"bad").hexdigest(), "bad", "csam", date.today())
    return sign_feed(make_feed("peer.example", [bad], generated_at=generated_at), key)


def serve_signed_feed(lemmy: FakeLemmy, key: Any, generated_at: Any) -> None:
    """The peer's host serves hashes.json and its signature, as signed_feed makes them."""
    body, signature = signed_feed(key, generated_at)
    lemmy.add_remote_file("hashes.json", body, content_type="application/json")
    lemmy.add_remote_file("hashes.json.sig", signature, content_type="text/plain")


def test_a_feed_host_answering_304_to_a_plain_request_is_a_refusal(
    fake_lemmy: FakeLemmy, tmp_path: Path, capsys
) -> None:
    """A 304 means "the copy you have": to a request that named no copy (the first
    fetch; the signature, never asked for conditionally) it is a refusal like any other
    answer that is not the file, warned about, and the cycle goes on."""
    from datetime import UTC, datetime

    from modbot.subscriptions import refresh

    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = lemmy.add_remote_behaviour("hashes.json", status=304, content_type=None)
    key, policy, store = peer_feed(lemmy, tmp_path, url)
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert warnings == [
        f"feed 'peer' ({url}) refused: http_304: the server answered HTTP 304 ({url}); "
        "no copy of it is used"
    ]

    body, _ = signed_feed(key, datetime.now(UTC))
    lemmy.add_remote_file("hashes.json", body, content_type="application/json")
    lemmy.add_remote_behaviour("hashes.json.sig", status=304, content_type=None)
    store.set_cursor("feed:peer:refused", None)  # `every` later: fetched again
    warnings.clear()
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert warnings == [
        f"feed 'peer' ({url}) refused: http_304: the server answered HTTP 304 ({url}.sig); "
        "no copy of it is used"
    ]
    assert len(policy.feeds["peer"]) == 0

    # `modbot feed verify URL` says so in one line (allowed the fake's host)
    key_text = str(policy.feeds["peer"].settings.key)
    assert main(["feed", "verify", url, "--key", key_text, "--allow-host", remote]) == 1
    err = capsys.readouterr().err
    assert err == f"modbot feed verify: http_304: the server answered HTTP 304 ({url}.sig)\n"
    store.close()


def test_a_refused_feeds_warning_shows_no_password_or_token_of_its_url(
    fake_lemmy: FakeLemmy, tmp_path: Path
) -> None:
    """The refusal is logged, listed in the run's warnings and sent to the admins: the
    URL's user info and secret parameters are not in it."""
    from modbot.subscriptions import refresh

    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    lemmy.add_remote_behaviour("hashes.json", b"down", status=503, content_type="text/plain")
    url = f"http://sub:PASSWORD123@{remote}/hashes.json?access_token=SECRETTOKEN"
    _, policy, store = peer_feed(lemmy, tmp_path, url)
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    shown = f"http://{remote}/hashes.json?access_token=***"
    assert warnings == [
        f"feed 'peer' ({shown}) refused: http_503: the server answered HTTP 503 ({shown}); "
        "no copy of it is used"
    ]
    store.close()


def test_a_feed_not_modified_since_is_still_refused_once_too_old(
    fake_lemmy: FakeLemmy, tmp_path: Path
) -> None:
    """A publisher that stopped updating: its web server answers 304 to the conditional
    request. The copy in hand ages all the same: past `max_age` it is refused as stale
    and warned about, as when the server sends the same file again."""
    import hashlib
    import time
    from datetime import UTC, datetime, timedelta

    from modbot.subscriptions import refresh

    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = f"{lemmy.remote_url}/hashes.json"
    key, policy, store = peer_feed(lemmy, tmp_path, url, max_age="7d")
    generated = datetime.now(UTC) - timedelta(hours=1)
    serve_signed_feed(lemmy, key, generated)
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert warnings == []

    store.feed_fetched("peer", time.time() - 7200)  # `every` (1h) has passed
    lemmy.clear_requests()
    later = datetime.now(UTC) + timedelta(days=30)
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote], now=later)
    assert [(r.path, r.status) for r in lemmy.requests] == [("/hashes.json", 304)]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"feed 'peer' ({url}) refused: the feed was generated at ")
    assert (
        "over the 7 days a feed may be old: the publisher has stopped updating it" in (warnings[0])
    )
    assert warnings[0].endswith(
        f"still using this copy of {generated:%Y-%m-%d %H:%M} UTC, as nothing newer came: "
        "its entries count until one does"
    )
    bad = hashlib.sha256(b"bad").hexdigest()
    assert policy.feeds["peer"].lookup({"sha256": bad}) == "feed sha256"  # the last good copy
    assert time.time() - store.feed_copy("peer", body=False)["fetched_at"] < 60
    store.close()


def test_a_copy_swapped_in_during_a_lookup_does_not_fail_it() -> None:
    """The gate's feed thread loads a new copy while a request looks an image up: the
    lookup answers from one copy, never a KeyError for a kind the new copy lacks."""
    import hashlib
    from datetime import date

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from modbot.config.schema import FeedSettings
    from modbot.feeds import FeedEntry, make_feed, public_key_text, sign_feed, verify_feed
    from modbot.subscriptions import FeedList

    key = Ed25519PrivateKey.generate()
    md5, sha256 = hashlib.md5(b"a").hexdigest(), hashlib.sha256(b"a").hexdigest()

    def copy(*kinds: tuple[str, str]) -> Any:
        entries = [FeedEntry(kind, value, "bad", "csam", date.today()) for kind, value in kinds]
        return verify_feed(*sign_feed(make_feed("peer.example", entries), key), key.public_key())

    settings = FeedSettings(
        url="https://peer.example/h.json", key=public_key_text(key), use="known-bad"
    )
    fl = FeedList("peer", settings)
    fl.load(copy(("md5", md5), ("sha256", sha256)))
    new = copy(("sha256", sha256))

    class Swapping(dict):
        def get(self, kind: str, default: Any = None) -> Any:
            fl.load(new)  # the feed thread, between two kinds of the lookup
            return super().get(kind, default)

    # whichever kind comes first, md5 is gone from the copy in use when it is read
    assert fl.lookup(Swapping(md5=md5)) == "feed md5"  # the copy the lookup began with
    assert fl.lookup({"md5": md5}) is None  # the next one: the new copy


def test_a_feed_behind_a_token_has_its_signature_behind_the_same_token(
    fake_lemmy: FakeLemmy, tmp_path: Path
) -> None:
    """A private feed's URL carries its token in the query: the signature is the path's
    `.sig` with the same query (not the token with ".sig" stuck on its end)."""
    from datetime import UTC, datetime

    from modbot.feeds import signature_url
    from modbot.subscriptions import refresh

    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = lemmy.add_remote_file("hashes.json", b"", content_type="application/json")
    url += "?access_token=T0KEN#top"
    assert signature_url(url) == f"{lemmy.remote_url}/hashes.json.sig?access_token=T0KEN"
    key, policy, store = peer_feed(lemmy, tmp_path, url)
    serve_signed_feed(lemmy, key, datetime.now(UTC))
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert warnings == []
    assert len(policy.feeds["peer"]) == 1
    store.close()


def test_a_new_key_in_the_rules_fetches_the_feed_at_once(
    fake_lemmy: FakeLemmy, tmp_path: Path
) -> None:
    """The publisher changed keys and the admin put the new one in rules.yaml: the copy
    kept (signed by the old key) is not usable, and the feed is fetched at the next
    cycle, not `every` later; a refusal then waits `every` as usual."""
    from datetime import UTC, datetime

    from modbot.feeds import public_key_text
    from modbot.subscriptions import refresh

    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = lemmy.add_remote_file("hashes.json", b"", content_type="application/json")
    old_key, policy, store = peer_feed(lemmy, tmp_path, url, every="1d")
    serve_signed_feed(lemmy, old_key, datetime.now(UTC))
    refresh(store, policy, warn=print, allowed_hosts=[remote])
    assert len(policy.feeds["peer"]) == 1
    store.close()

    new_key, new_policy, store = peer_feed(lemmy, tmp_path, url, every="1d")
    serve_signed_feed(lemmy, new_key, datetime.now(UTC))
    warnings: list[str] = []
    refresh(store, new_policy, warn=warnings.append, allowed_hosts=[remote])
    assert warnings == []
    assert len(new_policy.feeds["peer"]) == 1
    assert new_policy.feeds["peer"].settings.key == public_key_text(new_key)

    # a publisher whose feed is then refused is not asked again every cycle
    lemmy.add_remote_file("hashes.json.sig", b"garbage", content_type="text/plain")
    _, third_policy, store2 = peer_feed(lemmy, tmp_path, url, every="1d")
    refresh(store2, third_policy, warn=warnings.append, allowed_hosts=[remote])
    assert len(warnings) == 1 and "refused" in warnings[0]
    refresh(store2, third_policy, warn=warnings.append, allowed_hosts=[remote])
    assert len(warnings) == 1  # fetched once, then `every` later
    store.close()
    store2.close()
