"""Shared fixtures.

- `fake_lemmy`: a started `fakelemmy.FakeLemmy` with the standard cast
  (`fakelemmy.scenarios.standard_cast`) at `fake_lemmy.cast`: `admin`, `bot`
  ("modbot", admin + bot account, show_nsfw/show_bot_accounts off), `mod` (moderates
  both communities), `alice` (local), `bob` (bob@remote.example), communities `pics` and
  `nsfw` (NSFW). Every password is `scenarios.PASSWORD` ("pw"). No posts yet.
- `photos`: name -> bytes of the real photos in tests/data (astronaut, chelsea, coffee,
  china, grace_hopper; see tests/data/README.md).
- `tiny_checkpoint`: the tiny random-weights model's checkpoint (once per session).
- `tiny`: that model with a `probe` threshold only one photo (`tiny.flagged`) crosses.
- `pipeline_for`: in-process Pipelines on a fake, sharing one engine.

Helpers shared by the test modules live in `tests/support/` (`bot`: the one `Bot`;
`policies`: the rules files; `acting`: stress scenarios; `lemmy_json`: Lemmy's JSON).
- `@pytest.mark.both_lemmys`: the test runs twice, `fake_lemmy` being a Lemmy 0.19 (API
  v3) then a Lemmy 1.0 (API v4, `FakeLemmy(version="1.0")`); ids `[0.19]`, `[1.0]`.
  Such a test names Lemmy's paths as v3 ones through `fake_lemmy.api_path(...)` (1.0's
  counterpart on 1.0). `--lemmy 0.19|1.0|both` runs marked tests on one or both (both).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from support.policies import BAD, DEFAULT_RULES, GENERATED, PROMPT, write_rules
from support.worker import TOKEN

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast

DATA = Path(__file__).parent / "data"

# A developer's own .env (say, in the checkout, for their instance) must not reach the
# bots the tests start; tests of the .env file take this out of their child's environment.
os.environ["MODBOT_ENV_FILE"] = os.devnull


LEMMY_VERSIONS = ("0.19", "1.0")


def pytest_addoption(parser):
    parser.addoption(
        "--lemmy",
        choices=[*LEMMY_VERSIONS, "both"],
        default="both",
        help="the fake Lemmy versions tests marked both_lemmys run against (default: both)",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "both_lemmys: run against a fake Lemmy 0.19 and a fake Lemmy 1.0"
    )
    # Every Python the tests start sees the packages a production install has
    # (support/child_site/sitecustomize.py says which one it hides, and why). Not
    # pytest-xdist's controller: its workers are Pythons it starts, and they import the
    # hidden package for the reference's tests; each worker sets it for its own children.
    if config.getoption("numprocesses", None) and not hasattr(config, "workerinput"):
        return
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [
            str(Path(__file__).parent / "support" / "child_site"),
            *filter(None, [os.environ.get("PYTHONPATH")]),
        ]
    )


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("both_lemmys") is None:
        return
    if "fake_lemmy" not in metafunc.fixturenames:
        raise pytest.UsageError(f"{metafunc.definition.name}: both_lemmys needs fake_lemmy")
    chosen = metafunc.config.getoption("--lemmy")
    versions = LEMMY_VERSIONS if chosen == "both" else (chosen,)
    metafunc.parametrize("fake_lemmy", versions, indirect=True)


@pytest.fixture
def fake_lemmy(request):
    """A started fake Lemmy with the standard cast: 0.19, or the version the test is
    parametrized with (`both_lemmys`)."""
    version = getattr(request, "param", None)
    with FakeLemmy() if version in (None, "0.19") else FakeLemmy(version=version) as lemmy:
        lemmy.cast = standard_cast(lemmy)
        yield lemmy


@pytest.fixture(scope="session")
def photos() -> dict[str, bytes]:
    return {path.stem: path.read_bytes() for path in sorted(DATA.glob("*.jpg"))}


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    from classifier.tiny import write_random_checkpoint

    return write_random_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny.safetensors")


@pytest.fixture(scope="session")
def tiny(tmp_path_factory, photos):
    """The tiny model's checkpoint, and a `probe` threshold that only one photo crosses."""
    from classifier.concepts import ConceptSet, CustomConcept
    from classifier.engine import Engine
    from classifier.model import load_model
    from classifier.tiny import tiny_spec, write_random_checkpoint

    checkpoint = write_random_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny.safetensors")
    engine = Engine(
        load_model(tiny_spec(checkpoint)),
        ConceptSet.builtin(custom=[CustomConcept("probe", (PROMPT,), 0.0)]),
    )
    try:
        names = [n for n in photos if n != BAD]
        verdicts = engine.classify_many([photos[n] for n in names] + [GENERATED])
    finally:
        engine.close()
    # threshold 0: the score is the similarity. The generated image takes part in the
    # ranking (tests post it) but must stay under the threshold.
    scores = {n: v.scores["probe"] for n, v in zip([*names, "generated"], verdicts)}
    ranked = sorted(scores, key=scores.get, reverse=True)
    assert ranked[0] != "generated" and scores[ranked[0]] - scores[ranked[1]] > 0.002, scores
    return SimpleNamespace(
        checkpoint=checkpoint,
        flagged=ranked[0],
        others=[n for n in ranked[1:] if n != "generated"],
        threshold=(scores[ranked[0]] + scores[ranked[1]]) / 2,
    )


@pytest.fixture
def pipeline_for(tiny, tmp_path):
    """Build in-process Pipelines sharing one engine (loading a model once per test)."""
    from modbot.classify import build_engine
    from modbot.config.policy import load_policy
    from modbot.config.settings import Secret, Settings
    from modbot.pipeline import Pipeline

    built, engines = [], []

    def make(lemmy, *, dry_run=False, **kwargs):
        policy = load_policy(
            write_rules(
                tmp_path,
                lemmy,
                tiny,
                known_bad=kwargs.pop("known_bad", ()),
                rules=kwargs.pop("rules", DEFAULT_RULES),
            )
        )
        if not engines:
            engines.append(build_engine(policy))
        settings = Settings(
            lemmy.url,
            "modbot",
            Secret("pw"),
            lemmy.pictrs_url,
            Secret(lemmy.pictrs_api_key),
            tmp_path / "state.sqlite3",
        )
        if not dry_run:  # a new live pipeline stands for a restart: the last one has ended
            for earlier in built:
                if earlier.state_lock is not None:
                    earlier.state_lock.release()
        pipeline = Pipeline(settings, policy, dry_run=dry_run, engine=engines[0], **kwargs)
        built.append(pipeline)
        return pipeline

    yield make
    for p in built:
        p.close()
    for e in engines:
        e.close()


@pytest.fixture(scope="module")
def worker(tiny, tmp_path_factory):
    """A worker with the tiny model the bot's local runs use; `.requests` lists the
    (method, path) of every request it got."""
    from classifier import load_model
    from classifier.service import (
        Client,
        WorkerConfig,
        WorkerServer,
        WorkerService,
        bind_socket,
        hash_token,
    )
    from classifier.tiny import tiny_spec

    loaded = load_model(tiny_spec(tiny.checkpoint))
    digest = bytes.fromhex(hash_token(TOKEN).split(":")[1])
    service = WorkerService(
        loaded,
        WorkerConfig(
            clients=[Client("bot", digest, None)],
            max_wait_ms=20,
            text_cache_dir=tmp_path_factory.mktemp("worker-text-cache"),
            # decoding in processes, as on a GPU: the remote and gate tests compare its
            # verdicts with the bot's own, decoded in threads
            decode_processes=2,
        ),
    )
    requests: list[tuple[str, str]] = []
    app = service.app

    async def recording(scope, receive, send):
        if scope["type"] == "http":
            requests.append((scope["method"], scope["path"]))
        await app(scope, receive, send)

    service.app = recording
    server = WorkerServer(service, bind_socket("127.0.0.1", 0))
    server.start()
    server.requests = requests
    try:
        yield server
    finally:
        server.stop()
        service.close()
