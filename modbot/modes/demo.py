"""`modbot demo`: the whole bot on an embedded fake instance, as a dry run.

It starts the fake Lemmy + pict-rs (`fakelemmy`) on 127.0.0.1 with a realistic
sample: posts with image links and thumbnails, markdown images in posts and comments, a
proxied remote image, uploads (one never posted), hostile files (a truncated JPEG, a
decompression bomb, an HTML page posing as an image, a private-network URL) and one
image on a demo known-bad hash list. Then it sweeps the instance in dry-run mode with
the shipped rules.yaml and writes `modbot-demo-report.html` and `.json`.

Without real ViT-L-14 weights in the Hugging Face cache it uses the tiny random-weights
test model and says so loudly: its scores are noise; the demo shows the mechanics
(every image found, fetched safely, hashed, decided by the rules, recorded), not the
classifier's judgement. The demo never downloads weights.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from modbot.config.policy import Policy
from modbot.errors import DemoError

__all__ = ["DEMO_REPORT_HTML", "DEMO_REPORT_JSON", "DemoError", "run_demo", "shipped_rules_path"]

log = logging.getLogger("modbot.demo")

DEMO_REPORT_HTML = "modbot-demo-report.html"
DEMO_REPORT_JSON = "modbot-demo-report.json"
KNOWN_BAD_LIST = "known-bad"  # the shipped rules.yaml's exact-hash list
TEST_MODEL_BANNER = (
    "TEST MODEL{why}.\n"
    "The demo runs a tiny model with RANDOM weights. Its scores are meaningless; the\n"
    "demo shows how modbot works, not what the classifier would find. See README: GPU\n"
    "vs CPU install."
)


@dataclass
class Sample:
    """What the demo put on the fake instance."""

    posts: int = 0
    comments: int = 0
    uploads: int = 0
    known_bad_sha256: str = ""
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------- the rules


def shipped_rules_path() -> Path:
    """The rules.yaml shipped inside the package (``modbot.starter``; a checkout's
    top-level one links to it), else the one the Docker image installs at
    /etc/modbot/rules.yaml."""
    from modbot.starter import shipped_rules

    candidates = [shipped_rules(), Path("/etc/modbot/rules.yaml")]
    for path in candidates:
        if path.is_file() and (path.parent / "hashes").is_dir():
            return path
    raise DemoError(
        "the shipped rules.yaml (with its hashes/ folder) is missing from the modbot "
        "package (modbot/defaults/): reinstall modbot, or give --rules FILE (`modbot init "
        "DIR` writes one)"
    )


def demo_policy(rules: Path, workdir: Path, known_bad: str, lemmy: Any) -> Policy:
    """The policy of ``rules``, read where it is (its mistakes are said at its own path,
    a checkpoint or list named relative to it is found beside it), with the demo image
    added to a copy of its known-bad list (the admin's stays as it is), and the fake
    instance's "remote web" host allowed (it lives on 127.0.0.1). Nothing off this
    machine: the classifier runs here (``classifier.remote`` workers are not asked) and
    no subscribed feed is fetched (``not_contacted`` says which were left out)."""
    from modbot.config.policy import load_policy
    from modbot.hashes import HashList

    if not rules.is_file():
        raise DemoError(f"{rules}: no such rules file (--rules)")
    policy = load_policy(rules)
    listed = policy.hash_lists.get(KNOWN_BAD_LIST)
    if not isinstance(listed, HashList) or listed.kind != "sha256" or listed.format != "plain":
        raise DemoError(
            f"{rules} has no sha256 hash list named {KNOWN_BAD_LIST!r} (a plain list file) "
            "to add the demo image to: give it one as the shipped rules.yaml has it, "
            f"`hash_lists: {{{KNOWN_BAD_LIST}: {{kind: sha256, file: "
            f"hashes/{KNOWN_BAD_LIST}.sha256}}}}` (`modbot init DIR` writes both)"
        )
    copy = workdir / listed.path.name
    try:
        shutil.copyfile(listed.path, copy)
        with open(copy, "a", encoding="utf-8") as f:
            f.write(
                f"\n{known_bad}  # modbot demo: a generated image standing in for a known one\n"
            )
    except OSError as exc:
        raise DemoError(f"cannot copy the demo's known-bad list {listed.path}: {exc}") from None
    demo_list = HashList.load(copy, "sha256", name=KNOWN_BAD_LIST, shown_as=str(listed.path))
    remote = lemmy.remote_url.split("//", 1)[1]
    policy = policy.replace(
        classifier=policy.classifier.model_copy(update={"remote": None}),
        fetch=policy.fetch.model_copy(update={"allow_hosts": [*policy.fetch.allow_hosts, remote]}),
        # The fake instance is local: no need to pace requests as for a real one; and it
        # speaks the API of the version --lemmy asks (the rules' lemmy.api is for theirs).
        lemmy=policy.lemmy.model_copy(update={"requests_per_minute": 60_000, "api": "auto"}),
    )
    # A feed's list stays, empty: the rules naming it are valid and match nothing.
    return dataclasses.replace(
        policy, hash_lists={**policy.hash_lists, KNOWN_BAD_LIST: demo_list}, feeds={}
    )


def not_contacted(rules: Path) -> list[str]:
    """What of the rules file would reach off this machine, which the demo leaves out."""
    from modbot.config.policy import load_policy

    policy = load_policy(rules)
    left = []
    if policy.classifier.remote is not None:
        left.append(f"classifier.remote workers ({', '.join(policy.classifier.remote.urls)})")
    if policy.feeds:
        left.append(f"feeds ({', '.join(policy.feeds)})")
    return left


def test_model_policy(policy: Policy, workdir: Path) -> Policy:
    """The policy with the tiny random-weights model as its classifier."""
    from classifier.tiny import TINY_MODEL, write_random_checkpoint

    checkpoint = write_random_checkpoint(workdir / "modbot-tiny-random.safetensors")
    return policy.replace(
        classifier=policy.classifier.model_copy(
            update={
                "model": TINY_MODEL,
                "pretrained": None,
                "checkpoint": str(checkpoint),
                "device": "cpu",
                "allow_random_weights": True,
            }
        )
    )


def build_engine_for_demo(policy: Policy, workdir: Path, force_test_model: bool) -> tuple[Any, str]:
    """The rules' model if its weights are already on this machine (never downloaded),
    else the tiny random-weights model; and, for the banner, why it is the test model
    (``--test-model``, the weights not found) or "" (the rules' own model)."""
    from classifier.model import WeightsNotFound
    from modbot.classify import build_engine
    from modbot.errors import ClassifierError

    if force_test_model:
        return build_engine(test_model_policy(policy, workdir)), " (--test-model)"
    previous = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"  # look in the cache only: a demo downloads nothing
    try:
        return build_engine(policy), ""
    except ClassifierError as exc:
        if not isinstance(exc.__cause__, WeightsNotFound):
            raise
        log.debug("no real weights: %s", exc)
    finally:
        if previous is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = previous
    c = policy.classifier
    asked = f"{c.model}/{c.pretrained}" if c.pretrained else f"{c.model} ({c.checkpoint})"
    return build_engine(test_model_policy(policy, workdir)), f": no {asked} weights on this machine"


# ---------------------------------------------------------------------- the sample


def _photo(name: str) -> bytes:
    return resources.files("modbot.modes").joinpath("demo_data", f"{name}.jpg").read_bytes()


def known_bad_image() -> bytes:
    """The stand-in for a known abusive image: generated, harmless, distinct."""
    from fakelemmy import hostile

    return hostile.jpeg(width=320, height=240, color=(120, 20, 140))


def populate(lemmy: Any) -> Sample:
    """The demo instance's people, communities, posts, comments and uploads."""
    from fakelemmy import hostile
    from fakelemmy.scenarios import standard_cast
    from fakelemmy.state import now
    from modbot.hashes import sha256_hex

    cast = standard_cast(lemmy)
    # A bot account set up as the README says: nothing hidden from its listings.
    cast.bot.show_nsfw = cast.bot.show_bot_accounts = True
    mallory = lemmy.add_person("mallory", password="pw", published=now() - timedelta(hours=5))
    remote = {
        name: lemmy.add_remote_file(f"{name}.jpg", _photo(name))
        for name in ("astronaut", "chelsea", "grace_hopper")
    }
    s = Sample()
    day = now() - timedelta(days=1)

    def post(*args: Any, **kwargs: Any) -> Any:
        s.posts += 1
        return lemmy.add_post(*args, published=day + timedelta(minutes=s.posts), **kwargs)

    def comment(*args: Any, **kwargs: Any) -> Any:
        s.comments += 1
        return lemmy.add_comment(*args, **kwargs)

    def upload(*args: Any, **kwargs: Any) -> Any:
        s.uploads += 1
        return lemmy.add_upload(*args, **kwargs)

    first = post(
        cast.pics,
        cast.alice,
        name="Astronaut on a spacewalk",
        url=remote["astronaut"],
        thumbnail_url=lemmy.add_thumbnail(_photo("astronaut")).url,
    )
    coffee = upload(cast.alice, _photo("coffee"))
    comment(first, cast.bob, content=f"Reminds me of my morning ![coffee]({coffee.url})")
    post(
        cast.pics,
        cast.bob,
        name="My cat",
        body=f'Meet Chelsea:\n\n![cat]({remote["chelsea"]} "Chelsea")',
    )
    post(
        cast.pics,
        cast.bob,
        name="Admiral Hopper (through the image proxy)",
        url=lemmy.proxy_url(remote["grace_hopper"]),
    )
    post(cast.nsfw, cast.alice, name="In the NSFW community", url=remote["chelsea"])
    upload(cast.alice, _photo("grace_hopper"))  # uploaded, never posted
    bad = known_bad_image()
    s.known_bad_sha256 = sha256_hex(bad)
    post(cast.pics, mallory, name="totally normal picture", url=upload(mallory, bad).url)
    broken = lemmy.add_remote_file("broken.jpg", hostile.truncated_jpeg(_photo("chelsea")))
    post(cast.pics, mallory, name="a broken image", url=broken)
    bomb = lemmy.add_remote_file("huge.png", hostile.png_bomb(), content_type="image/png")
    fake = lemmy.add_remote_file("photo.jpg", hostile.html_page(), content_type="image/jpeg")
    comment(first, mallory, content=f"![nice]({bomb}) and ![also]({fake})")
    post(cast.pics, mallory, name="from the private network", url="http://10.0.0.7/internal.jpg")
    s.notes = [
        "image links with a thumbnail, markdown images in a post and a comment, a proxied "
        "remote image, an NSFW community, an upload never posted",
        "hostile: a truncated JPEG, a decompression bomb, an HTML page posing as a JPEG, a "
        "URL into the private network",
        "a generated image on the demo known-bad hash list, posted by a 5-hour-old account",
    ]
    return s


# ---------------------------------------------------------------------- the run


def run_demo(
    out_dir: Path | None = None,
    *,
    rules: Path | None = None,
    force_test_model: bool = False,
    print_: Any = print,
    lemmy_version: str = "0.19",
) -> int:
    from fakelemmy import FakeLemmy
    from modbot.config.settings import Secret, Settings
    from modbot.modes.report import write_report
    from modbot.pipeline import Pipeline
    from modbot.store import Store

    out_dir = Path(out_dir or Path.cwd()).resolve()
    _check_out_dir(out_dir)  # before the run, not after it
    rules = rules or shipped_rules_path()
    fake = FakeLemmy() if lemmy_version == "0.19" else FakeLemmy(version=lemmy_version)
    with tempfile.TemporaryDirectory(prefix="modbot-demo-") as tmp, fake as lemmy:
        workdir = Path(tmp)
        sample = populate(lemmy)
        policy = demo_policy(rules, workdir, sample.known_bad_sha256, lemmy)
        print_(
            f"modbot demo: a fake Lemmy {lemmy.version} instance (API {lemmy.api_version}) on "
            f"{lemmy.url} with {sample.posts} posts, "
            f"{sample.comments} comments and {sample.uploads} uploads:"
        )
        for note in sample.notes:
            print_(f"  - {note}")
        print_(f"rules: {rules} (plus the demo image on its {KNOWN_BAD_LIST!r} list)")
        left = not_contacted(policy.path)
        if left:
            print_(
                f"  not contacted: its {' and '.join(left)}; the demo runs on this machine "
                "only (the classifier here, feed lists empty)"
            )
        engine, why = build_engine_for_demo(policy, workdir, force_test_model)
        random_weights = bool(engine.loaded.random_weights)
        if random_weights:
            # the rules' own model with random weights (allow_random_weights) says so
            why = why or f": the rules' classifier {engine.loaded.identity} has random weights"
            print_(_boxed(TEST_MODEL_BANNER.format(why=why)))
        settings = Settings(
            lemmy_url=lemmy.url,
            username="modbot",
            password=Secret("pw"),
            pictrs_url=lemmy.pictrs_url,
            pictrs_api_key=Secret(lemmy.pictrs_api_key),
            state_path=workdir / "state.sqlite3",
            rules_path=rules,
        )
        store = Store(settings.state_path)
        try:
            with Pipeline(settings, policy, dry_run=True, engine=engine, store=store) as pipeline:
                stats = pipeline.sweep(None)
                decisions = store.decisions(run_id=pipeline.run_id)
        finally:
            engine.close()
            store.close()
        changed = len(lemmy.mutating_requests())
        options = dict(
            dry_run=True,
            random_weights=random_weights,
            extra={"demo": True, "requests_that_changed_something": changed},
        )
        try:
            html = write_report(
                out_dir / DEMO_REPORT_HTML,
                decisions,
                title="modbot demo report (fake instance)",
                **options,
            )
            json_ = write_report(out_dir / DEMO_REPORT_JSON, decisions, **options)
        except OSError as exc:
            raise DemoError(f"cannot write the demo's reports into {out_dir}: {exc}") from None
    _print_summary(print_, stats, decisions, changed, random_weights, html, json_)
    return 0


def _check_out_dir(out_dir: Path) -> None:
    """The reports' folder can be made and written in (--out-dir), and no folder has a
    report's name, or a DemoError."""
    folder = out_dir
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise DemoError(f"--out-dir {out_dir}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DemoError(
            f"--out-dir {out_dir}: {folder} is not writable by this user; give a folder "
            "you can write in"
        )
    for name in (DEMO_REPORT_HTML, DEMO_REPORT_JSON):  # a report replaces a file, not a folder
        if (out_dir / name).is_dir():
            raise DemoError(
                f"--out-dir {out_dir}: {out_dir / name} is a folder; move it, or give "
                "another --out-dir"
            )


def _print_summary(
    print_: Any,
    stats: Any,
    decisions: list[dict],
    changed: int,
    random_weights: bool,
    html: Path,
    json_: Path,
) -> None:
    rules = Counter(d["rule"] for d in decisions if d.get("rule"))
    actions = Counter(
        a["action"]
        for d in decisions
        for a in d.get("actions") or []
        if a.get("status") == "planned"
    )
    skipped = Counter(d["skipped"] for d in decisions if d.get("skipped"))
    print_(
        f"dry-run sweep: {stats.items_seen} items, {len(decisions)} images "
        f"({stats.images_classified} classified, {stats.cache_hits} from cache)"
    )
    print_("  rules matched:  " + (_counts(rules) or "none"))
    if random_weights:
        print_(
            "                  (random weights: classifier labels mean nothing, so rules on "
            "them are no test of the model)"
        )
    print_("  would do:       " + (_counts(actions) or "nothing"))
    print_("  not checkable:  " + (_counts(skipped) or "none"))
    print_(f"  requests that changed anything on the instance: {changed} (dry run)")
    print_(f"report: {html}")
    print_(f"report: {json_}")
    if random_weights:
        print_(
            "Reminder: TEST MODEL with random weights; classifier scores in the report "
            "are meaningless (hash-list matches and skips are real)."
        )


def _counts(counter: Counter) -> str:
    return ", ".join(f"{name} {n}" for name, n in counter.most_common())


def _boxed(text: str) -> str:
    lines = text.splitlines()
    width = max(len(line) for line in lines)
    bar = "!" * (width + 4)
    return "\n".join([bar, *(f"! {line.ljust(width)} !" for line in lines), bar])


def main_quietly(run: Any) -> int:
    """Run with library logging kept to warnings: the demo prints its own story."""
    root = logging.getLogger()
    level = root.level
    if level < logging.WARNING and not os.environ.get("MODBOT_DEMO_VERBOSE"):
        root.setLevel(logging.WARNING)
    try:
        return run()
    finally:
        root.setLevel(level)
