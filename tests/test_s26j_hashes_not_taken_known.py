"""A file on which a hash kind the rules need could not be taken (a flat picture's PDQ is
below the quality Meta's reference keeps; PDQ's code raises on it) is not downloaded
again each time it is seen: the known-files cache remembers the kinds tried and not
taken, and why, under the hashing code that tried them. A sweep over the same posts
downloads nothing it knows, and its records still say why the kind is missing. Before,
such a file was downloaded again on every sight (the cache said "no PDQ yet"). A change
that could take the hash now (another version of modbot's hashing code or of the
libraries it uses) tries the file again; so does a failure around the hashing rather
than of it."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import timedelta

import pytest
from PIL import Image
from support.cli import bot_environment
from support.policies import _policy_head, _remote

import modbot.acquire
import modbot.hashes
import modbot.pdq
from fakelemmy.state import now
from modbot.cli import main
from modbot.hashes import hashes_of
from modbot.store import KnownFile, Store

RULES = """
  look-alikes-pdq: {{kind: pdq, file: pdq.txt}}
fetch: {{allow_hosts: ["{remote}"]}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
rules:
  - name: look-alike
    if: {{hash_list: look-alikes-pdq}}
    then: {{report: "looks like a listed image"}}
"""
LOW_QUALITY = (
    "its quality (0) is below what Meta's reference keeps: such a hash would match "
    "unrelated pictures, so it matches nothing"
)
PDQ_FAILS = "computing its pdq hash failed: ValueError: pdqhash: buffer dimensions do not match"


def flat_png() -> bytes:
    """A flat grey picture: PDQ's quality 0, so no PDQ is taken of it."""
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 120, 120)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def setup(fake_lemmy, tiny_checkpoint, photos, tmp_path, monkeypatch):
    """`modbot sweep`'s environment on the fake, with a PDQ list (of a photo never
    posted): every file's PDQ is needed."""
    (tmp_path / "pdq.txt").write_text(hashes_of(photos["coffee"], ["pdq"])["pdq"] + "\n")
    rules = tmp_path / "rules.yaml"
    head = _policy_head(tiny_checkpoint, tmp_path, ())
    rules.write_text(head + RULES.format(remote=_remote(fake_lemmy)))
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, fake_lemmy, tmp_path / "state.sqlite3", rules)
    return tmp_path


def image_requests(lemmy, since: int) -> list:
    return [
        r
        for r in lemmy.requests[since:]
        if r.server == "remote"
        or (r.server == "lemmy" and "/pictrs/image/" in r.path)
        or (r.server == "pictrs" and "/image/" in r.path)
    ]


def posts_showing(lemmy, data: bytes, photo: bytes) -> str:
    """Three posts of ``data`` (an upload, a link twice) and one of a photo whose PDQ
    is taken; returns the upload's URL."""
    cast = lemmy.cast
    upload = lemmy.add_upload(cast.bob, data).url
    link = lemmy.add_remote_file("linked.png", data)
    start = now() - timedelta(days=2)
    urls = [upload, link, link, lemmy.add_upload(cast.alice, photo).url]
    for i, url in enumerate(urls):
        lemmy.add_post(
            cast.pics, cast.bob, name=f"post {i}", url=url, published=start + timedelta(minutes=i)
        )
    return upload


def sweep(lemmy, *args: str) -> list:
    """``modbot sweep --all`` (``args`` added): the image requests it made."""
    mark = len(lemmy.requests)
    assert main(["sweep", "--all", *args]) == 0
    return image_requests(lemmy, mark)


def not_taken(state, run: int) -> list[dict]:
    """Each post decision's ``image.hashes_not_taken`` of the ``run``-th run (0, 1...)."""
    with sqlite3.connect(state) as db:
        rows = db.execute("SELECT run_id, record FROM decisions ORDER BY id").fetchall()
    runs = list(dict.fromkeys(run_id for run_id, _ in rows))
    records = [json.loads(r) for run_id, r in rows if run_id == runs[run]]
    return sorted(
        (r["image"].get("hashes_not_taken", {}) for r in records if r["item"]["kind"] == "post"),
        key=len,
    )


def test_a_flat_pictures_missing_pdq_does_not_bring_it_down_again(setup, fake_lemmy, photos):
    posts_showing(fake_lemmy, flat_png(), photos["chelsea"])
    assert len(sweep(fake_lemmy, "--dry-run")) >= 3  # the upload, the link, the photo

    assert sweep(fake_lemmy) == []  # before: the upload and the link again, each sweep
    expected = [{}, {"pdq": LOW_QUALITY}, {"pdq": LOW_QUALITY}, {"pdq": LOW_QUALITY}]
    assert not_taken(setup / "state.sqlite3", 1) == expected  # still said, without bytes


def test_pdq_raising_on_a_file_is_remembered_until_the_hashing_code_changes(
    setup, fake_lemmy, photos, monkeypatch
):
    """PDQ's code raising on the file: not tried on every sight; under another version
    of the hashing code (here: its PDQ fixed) the file is downloaded once more and its
    PDQ taken."""
    failing = photos["astronaut"]
    real = modbot.pdq.pdq_hash

    def pdq_hash(image):
        if image == failing:
            raise ValueError("pdqhash: buffer dimensions do not match")
        return real(image)

    monkeypatch.setattr(modbot.pdq, "pdq_hash", pdq_hash)
    upload = posts_showing(fake_lemmy, failing, photos["chelsea"])
    assert len(sweep(fake_lemmy, "--dry-run")) >= 3
    assert sweep(fake_lemmy) == []
    state = setup / "state.sqlite3"
    assert not_taken(state, 1) == [{}, *[{"pdq": PDQ_FAILS}] * 3]

    # PDQ mended, the hashing code's version the same: nothing says it would work now
    monkeypatch.setattr(modbot.pdq, "pdq_hash", real)
    cast = fake_lemmy.cast
    fake_lemmy.add_post(cast.pics, cast.bob, name="again", url=upload)
    assert sweep(fake_lemmy, "--dry-run") == []
    assert not_taken(state, 2) == [{"pdq": PDQ_FAILS}]

    # another version of the hashing code: the file is downloaded once more, its PDQ taken
    monkeypatch.setattr(modbot.hashes, "HASHING", modbot.hashes.HASHING + 1)
    fake_lemmy.add_post(cast.pics, cast.bob, name="once more", url=upload)
    assert [r.status for r in sweep(fake_lemmy, "--dry-run")] == [200]
    assert not_taken(state, 3) == [{}]


def test_a_failure_around_the_hashing_is_tried_again(setup, fake_lemmy, photos, monkeypatch):
    """An error outside the hash's own code on these bytes (here the whole perceptual
    step raising) may not happen next time: the file is downloaded again."""
    failing = photos["astronaut"]
    real = modbot.acquire.decoded_hashes

    def decoded_hashes(engine, data, *args, **kwargs):
        if data == failing:
            raise MemoryError("out of memory")
        return real(engine, data, *args, **kwargs)

    monkeypatch.setattr(modbot.acquire, "decoded_hashes", decoded_hashes)
    upload = posts_showing(fake_lemmy, failing, photos["chelsea"])
    assert len(sweep(fake_lemmy, "--dry-run")) >= 3
    again = {r.path.rsplit("/", 1)[-1] for r in sweep(fake_lemmy)}
    assert again == {upload.rsplit("/", 1)[-1], "linked.png"}  # not the photo


def test_a_state_file_from_before_keeps_its_known_files(tmp_path):
    """A state whose files table has no column for the kinds not taken opens, keeps its
    rows (nothing remembered as not taken: such a file is downloaded once more)."""
    path = tmp_path / "state.sqlite3"
    Store(path).close()  # a state of its time: its files table as it was then
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE files")
        db.execute(
            "CREATE TABLE files (key TEXT PRIMARY KEY, sha256 TEXT NOT NULL, hashes TEXT "
            "NOT NULL, etag TEXT, last_modified TEXT, checked_at REAL NOT NULL)"
        )
        db.execute("INSERT INTO files VALUES ('alias:a.png', 'ab', '{}', NULL, NULL, 1.0)")
    store = Store(path)
    try:
        assert store.known_file("alias:a.png") == KnownFile("ab", {}, None, None, 1.0)
        known = KnownFile("cd", {}, None, None, 2.0, {"pdq": "flat"}, "hashing 9")
        store.put_known_file("alias:b.png", known)
        assert store.known_file("alias:b.png") == known
    finally:
        store.close()
