"""Reports from decision records: the JSON an admin's tools read and the HTML they open.

The content is hostile (titles and URLs written by the people being moderated), so the
HTML must escape everything, never embed an image, and never make a script link.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from modbot.modes.report import ReportError, build_summary, write_report
from modbot.modes.report_html import render_html

ROOT = Path(__file__).resolve().parents[1]
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def decision(**over):
    d = {
        "run_id": "r1",
        "decided_at": "2026-11-21T10:00:00Z",
        "dry_run": True,
        "item": {
            "kind": "post",
            "id": 12,
            "url": "https://lemmy.example/post/12",
            "community": "pics@lemmy.example",
            "community_nsfw": False,
            "author": "https://lemmy.example/u/someone",
            "author_id": 7,
        },
        "image": {
            "url": "https://lemmy.example/pictrs/image/abc.jpg",
            "location": "post_url",
            "sha256": "a" * 64,
            "alias": "abc.jpg",
        },
        "scores": {"csam": -0.01, "nsfw": 0.02, "underage": -0.05},
        "labels": ["nsfw"],
        "model": "ViT-L-14/openai",
        "random_weights": False,
        "concept_version": "cv1",
        "hash_match": None,
        "rule": "nsfw outside nsfw communities",
        "actions": [{"action": "report", "status": "planned", "detail": "NSFW image"}],
        "skipped": None,
    }
    for key, value in over.items():
        if key in ("item", "image"):
            d[key] = {**d[key], **value}
        else:
            d[key] = value
    return d


def sample():
    return [
        decision(),
        decision(
            item={"kind": "comment", "id": 3, "url": "https://lemmy.example/comment/3"},
            image={"url": "https://evil.example/x.png", "location": "comment", "sha256": "b" * 64},
            labels=["csam", "nsfw", "underage"],
            scores={"csam": 0.03, "nsfw": 0.05, "underage": 0.02},
            rule="classifier flags CSAM",
            actions=[
                {"action": "remove", "status": "planned", "detail": "removed"},
                {"action": "purge_image", "status": "planned", "detail": "abc"},
                {"action": "notify_admins", "status": "planned", "detail": "2 admins"},
            ],
        ),
        decision(
            image={"url": "http://10.0.0.1/a.jpg", "location": "body", "sha256": None},
            scores={},
            labels=[],
            rule=None,
            actions=[],
            skipped="private address: 10.0.0.1 is not allowed",
        ),
        decision(
            image={"url": "https://big.example/b.jpg", "location": "thumbnail", "sha256": None},
            scores={},
            labels=[],
            rule=None,
            actions=[],
            skipped="too large: more than 25 MB",
        ),
        decision(item={"id": 13}, labels=[], rule=None, actions=[], scores={"nsfw": -0.1}),
        decision(item={"id": 14}, actions=[], exempt="moderator of pics@lemmy.example"),
    ]


def test_summary_counts_by_rule_action_and_skip_reason():
    s = build_summary(sample())
    assert s["decisions"] == 6
    assert s["items"] == 4  # post 12, comment 3, post 13, post 14
    assert s["by_rule"] == {"nsfw outside nsfw communities": 2, "classifier flags CSAM": 1}
    assert s["by_exempt"] == {"moderator of pics@lemmy.example": 1}
    assert s["by_action"]["report"] == {"planned": 1}
    assert s["by_action"]["purge_image"] == {"planned": 1}
    assert s["by_skip_reason"] == {"private address": 1, "too large": 1}
    assert s["skipped"] == 2 and s["with_rule"] == 3
    assert s["by_label"]["nsfw"] == 3
    assert s["dry_run"] is True and s["random_weights"] is False


def test_json_report_has_summary_and_every_decision_field(tmp_path):
    out = write_report(tmp_path / "r.json", sample(), since="2026-11-14T00:00:00Z")
    doc = json.loads(out.read_text())
    assert set(doc) == {"summary", "decisions", "gate"} and doc["gate"] == []
    assert doc["summary"]["since"] == "2026-11-14T00:00:00Z"
    assert len(doc["decisions"]) == 6
    for d in doc["decisions"]:
        assert {"kind", "id", "url"} <= set(d["item"])
        assert {"url", "sha256"} <= set(d["image"])
        assert {"scores", "labels", "rule", "actions", "skipped"} <= set(d)
    skipped = [d for d in doc["decisions"] if d["skipped"]]
    assert [d["skipped"].split(":")[0] for d in skipped] == ["private address", "too large"]
    assert skipped[0]["scores"] == {} and skipped[0]["labels"] == []


def test_html_has_counts_first_then_decisions_and_no_image(tmp_path):
    page = write_report(tmp_path / "r.html", sample()).read_text()
    assert "<img" not in page.lower()
    assert "data:" not in page.lower()
    assert "<script" not in page.lower()
    assert "src=" not in page.lower()
    # counts come before the decisions
    assert page.index("By rule") < page.index("Decisions with a rule")
    assert "classifier flags CSAM" in page
    assert 'href="https://lemmy.example/comment/3"' in page
    assert "private address: 10.0.0.1 is not allowed" in page
    assert "no action: moderator of pics@lemmy.example" in page
    # links to images are marked and leak no referrer
    assert re.search(r'rel="noreferrer noopener nofollow"[^>]*>image link', page)
    assert "flagged image" in page
    # a content security policy that forbids anything remote, should anything slip
    assert "default-src 'none'" in page
    # nor do the links' hosts learn that the page was opened: browsers look up the
    # names of a page's links ahead (DNS prefetch) unless it says not to
    assert '<meta http-equiv="x-dns-prefetch-control" content="off">' in page


def test_html_escapes_hostile_content():
    hostile = decision(
        item={
            "url": "javascript:alert(1)",
            "community": EVIL,
            "author": 'https://x.example/u/"><script>alert(2)</script>',
        },
        image={"url": "data:image/png;base64,AAAA", "location": EVIL, "sha256": EVIL},
        rule=EVIL,
        labels=[EVIL],
        scores={EVIL: 0.5},
        actions=[{"action": EVIL, "status": EVIL, "detail": EVIL}],
        skipped=EVIL,
    )
    page = render_html([hostile], title=EVIL)
    lower = page.lower()
    assert "<script" not in lower and "<img" not in lower
    assert "&lt;script&gt;" in page
    assert 'href="javascript:' not in lower
    assert 'href="data:' not in lower
    # the author URL is quoted inside the attribute, never breaking out of it
    assert '"><script>' not in page


def test_banners_for_test_model_and_dry_run():
    page = render_html([decision(random_weights=True, model="modbot-tiny/random-weights")])
    assert "TEST MODEL: scores are meaningless" in page
    assert "DRY RUN" in page
    live = render_html([decision(dry_run=False)])
    assert "TEST MODEL" not in live and "DRY RUN" not in live
    forced = render_html([], random_weights=True, dry_run=True)
    assert "TEST MODEL" in forced and "DRY RUN" in forced


def test_unknown_extension_is_a_clear_error(tmp_path):
    with pytest.raises(ReportError, match=r"\.json or \.html"):
        write_report(tmp_path / "r.txt", sample())
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")
def test_html_renders_in_headless_chromium(tmp_path):
    html_file = write_report(tmp_path / "r.html", [decision(random_weights=True), *sample()])
    png = tmp_path / "r.png"
    subprocess.run(
        [str(ROOT / "scripts" / "render-report.sh"), str(html_file), str(png)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def _links_to(page: str, url: str) -> list[tuple[str, bool]]:
    """Each link to `url`: its text, and whether the flagged-image warning precedes it."""
    return [
        (m.group(3), bool(m.group(1)))
        for m in re.finditer(
            r'(<span class="warn">[^<]*</span> )?<a[^>]*href="([^"]+)"[^>]*>([^<]*)</a>', page
        )
        if m.group(2) == url
    ]


@pytest.mark.parametrize("kind", ["upload", "file", "avatar"])
def test_html_links_a_flagged_upload_only_once_and_with_the_warning(kind):
    # An upload, a stored file and a profile image without an actor are their image: the
    # item's link would be the flagged image's URL, unmarked.
    img = "https://lemmy.example/pictrs/image/abc123.png"
    flagged = decision(
        item={"kind": kind, "id": "abc123.png", "url": img},
        image={"url": img, "location": "upload"},
        labels=["csam"],
        rule="csam",
        actions=[{"action": "purge_image", "status": "planned", "detail": ""}],
    )
    unmatched = decision(
        item={"kind": kind, "id": "abc123.png", "url": img},
        image={"url": img, "location": "upload"},
        labels=[],
        rule=None,
        actions=[],
    )
    page = render_html([flagged])
    assert _links_to(page, img) == [("image link", True)]
    assert f"{kind} abc123.png" in page  # the item is still named, as text
    assert _links_to(render_html([unmatched]), img) == [("image link", False)]


def test_html_keeps_the_flag_on_an_acted_image_not_decided_again():
    # A custom concept's rule removed the post; the concepts changed since, so the report
    # lists the record as not decided again (rule and actions only under `recorded`).
    img = "https://other.example/gore.jpg"
    acted = decision(
        image={"url": img, "location": "post_url"},
        scores={"gore": 0.1},
        labels=["gore"],
        rule="gore",
        actions=[{"action": "remove", "status": "done", "detail": "remove post 12"}],
    )
    not_redecided = {
        **acted,
        "rule": None,
        "actions": [],
        "not_redecided": "classified under concept version a, the classifier's is now b",
        "recorded": {"rule": "gore", "actions": acted["actions"]},
    }
    page = render_html([not_redecided])
    assert "Recorded, not decided again (1)" in page
    assert _links_to(page, img) == [("image link", True)]


def test_what_next_gives_a_threatexchange_allow_list_its_own_line_form(tmp_path):
    # Following the advice must exempt the image: a `format: threatexchange` list reads
    # `pdq <hex>` lines and skips a bare hash.
    from types import SimpleNamespace

    from modbot.hashes import HashList, hashes_of
    from modbot.modes.report_record import what_next

    listed = tmp_path / "known-good.txt"
    listed.write_text("pdq " + "0" * 63 + "1\n")
    hashes = hashes_of((ROOT / "tests" / "data" / "coffee.jpg").read_bytes(), ["sha256", "pdq"])

    def load() -> HashList:
        return HashList.load(listed, "pdq", format="threatexchange", name="known-good")

    policy = SimpleNamespace(allow_lists=["known-good"], hash_lists={"known-good": load()})
    advice = what_next(policy, decision(image={"sha256": hashes["sha256"], "hashes": hashes}))
    line = f"pdq {hashes['pdq']}"
    assert f"add the line {line} to {listed}" in advice
    with listed.open("a") as f:
        f.write(line + "\n")
    assert load().skipped == [] and load().lookup(hashes) == "pdq distance 0"


def test_a_report_is_its_owners_only_whatever_the_file_was(tmp_path):
    """It names flagged files and accounts: 0600, as the README says, also where the
    file was there before with another mode (each write replaces it whole)."""
    import stat

    path = tmp_path / "r.html"
    path.write_text("old")
    path.chmod(0o644)
    write_report(path, sample())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
