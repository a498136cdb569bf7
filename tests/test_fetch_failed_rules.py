"""Rules about images that could not be downloaded (`fetch_failed:`), and the shipped
policy's report of them: through `python -m modbot run --once` with the shipped
rules.yaml (the tiny model in place of ViT-L-14), a post whose image link is an HTML
page or a 404 is reported when its author is new or remote, with why in the report;
an established local account's dead link is recorded and left alone."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import yaml
from support.bot import Bot
from support.check_rules import check, write

from fakelemmy import hostile
from fakelemmy.state import now

ROOT = Path(__file__).resolve().parent.parent


def shipped_rules(directory: Path, lemmy, checkpoint: Path) -> Path:
    """The shipped rules.yaml and hash lists, with the tiny model and the fake's hosts."""
    shutil.copytree(ROOT / "hashes", directory / "hashes")
    policy = yaml.safe_load((ROOT / "rules.yaml").read_text())
    policy["classifier"] = {
        "model": "modbot-tiny",
        "pretrained": None,
        "checkpoint": str(checkpoint),
        "device": "cpu",
        "allow_random_weights": True,
        "deepdanbooru": "off",
    }
    policy["fetch"]["allow_hosts"] = [lemmy.remote_url.split("//", 1)[1]]
    policy["lemmy"].update(requests_per_minute=6000, timeout="10s")
    path = directory / "rules.yaml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False))
    return path


def reports_of(lemmy, post) -> list[str]:
    return [r.reason for r in lemmy.reports if (r.kind, r.target_id) == ("post", post.id)]


def test_the_shipped_policy_reports_dead_image_links_of_new_and_remote_accounts(
    fake_lemmy, tmp_path, tiny_checkpoint
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    newbie = lemmy.add_person("newbie", published=now() - timedelta(days=2))
    carol = lemmy.add_person(
        "carol", local=False, instance="far.example", published=now() - timedelta(days=400)
    )
    page = lemmy.add_remote_behaviour("/cat.jpg", hostile.html_page(), content_type="text/html")
    gone = lemmy.add_remote_behaviour("/gone.jpg", b"", status=404, content_type="text/html")
    by_newbie = lemmy.add_post(cast.pics, newbie, name="html", url=page)
    gone_newbie = lemmy.add_post(cast.pics, newbie, name="404", url=gone)
    by_remote = lemmy.add_post(cast.pics, carol, name="remote html", url=page)
    by_alice = lemmy.add_post(cast.pics, cast.alice, name="old account", url=gone)
    bot = Bot(lemmy, tmp_path, shipped_rules(tmp_path, lemmy, tiny_checkpoint))

    bot("run", "--once")

    assert reports_of(lemmy, by_newbie) == [
        "modbot could not download this image (`an HTML/XML page, not an image (served as "
        "text/html)` (not_an_image)) and the account is new: please look at it"
    ]
    assert reports_of(lemmy, gone_newbie) == [
        "modbot could not download this image (`the server answered HTTP 404` (http_404)) "
        "and the account is new: please look at it"
    ]
    assert reports_of(lemmy, by_remote) == [
        "modbot could not download this image (`an HTML/XML page, not an image (served as "
        "text/html)` (not_an_image)) and the account is from another instance: please look "
        "at it"
    ]
    assert reports_of(lemmy, by_alice) == []
    records = {d["item"]["id"]: d for d in bot.decisions() if d["item"]["kind"] == "post"}
    assert records[by_alice.id]["skipped"] == "http_404"
    assert records[by_alice.id]["rule"] is None and records[by_alice.id]["actions"] == []
    assert records[by_newbie.id]["matched"][0]["conditions"][:2] == [
        "type post",
        "fetch failed (not_an_image)",
    ]
    assert records[by_newbie.id]["rule"] == "image could not be downloaded, new account"


def test_fetch_failed_reasons_are_checked_with_file_line_and_a_suggestion(tmp_path):
    write(
        tmp_path,
        """
rules:
  - name: typo
    if: {fetch_failed: [not_an_imag]}
    then: {report: "x"}
  - name: not a download
    if:
      fetch_failed: too_many_images
    then: {report: "x"}
""",
    )
    rc, out = check(tmp_path)
    assert rc == 1
    assert out[0].startswith(
        "rules.yaml:3: rule 'typo': if.fetch_failed: unknown download failure 'not_an_imag' "
        "(did you mean 'not_an_image'?); use true (any) or: not_an_image, timeout,"
    )
    assert out[1] == (
        "rules.yaml:7: rule 'not a download': if.fetch_failed: 'too_many_images' is not a "
        "download failure (the image was not tried, or the classifier failed): write "
        "`skipped: too_many_images` for it"
    )


def test_fetch_failed_matches_download_failures_only_and_http_classes(tmp_path):
    from modbot.config.policy import load_policy
    from modbot.rules import Subject

    write(
        tmp_path,
        """
rules:
  - name: client errors
    if: {fetch_failed: http_4xx}
    then: {report: "{{fetch_failed}}"}
  - name: any failure
    if: {fetch_failed: true}
    then: {notify_admins: "{{fetch_failed}}"}
""",
    )
    policy = load_policy(tmp_path / "rules.yaml")

    def acted(skipped):
        plan = policy.decide(Subject(item_kind="post", found_in="post_url", skipped=skipped))
        return [(a.kind, a.reason) for a in plan.actions]

    assert acted("http_403") == [("report", "http_403"), ("notify_admins", "http_403")]
    assert acted("timeout") == [("notify_admins", "timeout")]
    assert acted("too_many_images") == [] and acted("remote_video") == []
    assert acted(None) == []  # a checked image
