"""Lemmy 1.0 (API v4): which API the bot speaks, and a 1.0 instance moderated end to end.

Through the real entry point (`python -m modbot run --once`) against the fake Lemmy
1.0 (`FakeLemmy(version="1.0")`, facts from Lemmy 1.0.0-beta.1 and lemmy-js-client
1.0.0-beta.2): every answer the bot gets is validated against the js-client's schemas
(tests/schemas/v4) as it is sent; a 1.0 instance never sees an API v3 request.
The behaviour suites shared by both versions are marked `both_lemmys` in their own files.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from support.bot import Bot, remote_photo, sha
from support.policies import BAD, write_rules

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from fakelemmy.state import now
from modbot.config.settings import Secret
from modbot.errors import LemmyError
from modbot.lemmy import views_v4
from modbot.lemmy.detect import api_of_version, detect
from modbot.lemmy.transport import Transport
from modbot.lemmy.v4 import LemmyClientV4

SCHEMAS = Path(__file__).parent / "schemas" / "v4"

# Every route the bot uses on 1.0 -> the js-client type of its answer.
ANSWERS = {
    ("GET", "/api/v4/site"): "GetSiteResponse",
    ("POST", "/api/v4/account/auth/login"): "LoginResponse",
    ("GET", "/api/v4/account"): "MyUserInfo",
    ("GET", "/api/v4/account/validate_auth"): "SuccessResponse",
    ("PUT", "/api/v4/account/settings/save"): "SuccessResponse",
    ("GET", "/api/v4/post/list"): "GetPostsResponse",
    ("GET", "/api/v4/comment/list"): "GetCommentsResponse",
    ("GET", "/api/v4/image/list"): "ListMediaResponse",
    ("GET", "/api/v4/post"): "GetPostResponse",
    ("GET", "/api/v4/comment"): "CommentResponse",
    ("GET", "/api/v4/person"): "GetPersonDetailsResponse",
    ("GET", "/api/v4/report/list"): "ListReportsResponse",
    ("POST", "/api/v4/post/remove"): "PostResponse",
    ("POST", "/api/v4/comment/remove"): "CommentResponse",
    ("POST", "/api/v4/admin/purge/post"): "SuccessResponse",
    ("POST", "/api/v4/admin/purge/comment"): "SuccessResponse",
    ("POST", "/api/v4/admin/ban"): "PersonResponse",
    ("POST", "/api/v4/community/ban_user"): "PersonResponse",
    ("POST", "/api/v4/post/report"): "PostReportResponse",
    ("POST", "/api/v4/comment/report"): "CommentReportResponse",
    ("POST", "/api/v4/private_message"): "PrivateMessageResponse",
    ("DELETE", "/api/v4/image"): "SuccessResponse",
}


def validate_answers(lemmy) -> list[str]:
    """Check every v4 answer against its schema as the fake sends it; the list of
    violations fills as requests come (an answer is passed on unchanged)."""
    failures: list[str] = []
    paths = {path for _, path in ANSWERS}
    for path in paths:

        def check(body, path=path):
            if isinstance(body, dict) and "error" not in body:
                # several methods share a path: the body must fit one of their types
                names = {name for (_, p), name in ANSWERS.items() if p == path}
                errors = {
                    name: [
                        e.message
                        for e in jsonschema.Draft7Validator(
                            json.loads((SCHEMAS / f"{name}.json").read_text())
                        ).iter_errors(body)
                    ]
                    for name in names
                }
                if all(errors.values()):
                    failures.append(f"{path}: {errors}")
            return body

        lemmy.tamper(path, check)
    return failures


# --------------------------------------------------------------------------- detection


def test_the_api_is_read_from_the_version():
    assert api_of_version("1.0.0-beta.1") == "v4"
    assert api_of_version("1.0.0-beta.1-12-g439734d") == "v4"
    assert api_of_version("1.0.0-nightly-2026-08-12") == "v4"
    assert api_of_version("0.19.20") == "v3"
    assert api_of_version("unknown") is None


@pytest.mark.parametrize(
    ("version", "api", "why"),
    [
        ("0.19.9", "v3", "nodeinfo says Lemmy 0.19.9"),
        ("1.0", "v4", "nodeinfo says Lemmy 1.0.0-beta.1"),
    ],
)
def test_detection_asks_nodeinfo_then_the_api_routes(version, api, why):
    with FakeLemmy(version=version) as lemmy:
        probe = Transport(lemmy.url, "x", Secret("y"), requests_per_minute=0, retries=0)
        found = detect(probe)
        assert (found.api, found.why) == (api, why)
        # nodeinfo hidden (a proxy answering 404): /api/v4/site tells, on 1.0 alone
        lemmy.fail_next("/nodeinfo/2.1", times=1, status=404)
        start = len(lemmy.requests)
        found = detect(probe)
        assert found.api == api
        assert ("/api/v4/site answers" if api == "v4" else "/api/v4/site does not") in found.why
        asked = [r.path for r in lemmy.requests[start:]]
        assert asked == ["/nodeinfo/2.1", "/api/v4/site"] + (
            ["/api/v3/site"] if api == "v3" else []
        )


def test_no_lemmy_at_the_url_is_said(tmp_path):
    with FakeLemmy() as lemmy:
        probe = Transport(lemmy.remote_url, "x", Secret("y"), requests_per_minute=0, retries=0)
        with pytest.raises(LemmyError, match="answers neither nodeinfo"):
            detect(probe)


@pytest.mark.parametrize(("version", "api"), [("0.19.9", "v3"), ("1.0", "v4")])
def test_auto_speaks_the_instances_api_and_says_why(version, api, tiny, tmp_path):
    with FakeLemmy(version=version) as lemmy:
        standard_cast(lemmy)
        bot = Bot(lemmy, tmp_path, write_rules(tmp_path, lemmy, tiny))
        done = bot("run", "--once", "--dry-run")
        assert f"Lemmy API {api}: nodeinfo says Lemmy {lemmy.version}" in done.stderr
        other = "/api/v4/" if api == "v3" else "/api/v3/"
        assert not [r.path for r in lemmy.requests if r.path.startswith(other)]


def test_lemmy_api_in_rules_overrides_detection(tiny, tmp_path):
    with FakeLemmy(version="1.0") as lemmy:
        standard_cast(lemmy)
        rules = write_rules(tmp_path, lemmy, tiny)
        rules.write_text(rules.read_text().replace("timeout: 10s}", "timeout: 10s, api: v3}"))
        done = Bot(lemmy, tmp_path, rules)("run", "--once", "--dry-run", check=False)
        assert "Lemmy API v3: set by lemmy.api in rules.yaml" in done.stderr
        assert "lemmy.api is v3 (Lemmy 0.19), but from 1.0" in done.stderr
        # not detected: no probe of the v4 API or of nodeinfo 2.1; the v3 client reads
        # nodeinfo 2.0 (redirected to 2.1) for 0.19's page cap (d6571ac)
        assert not [r for r in lemmy.requests if r.path.startswith("/api/v4")]
        nodeinfo = [r.path for r in lemmy.requests if r.path.startswith("/nodeinfo")]
        assert nodeinfo[:1] in ([], ["/nodeinfo/2.0.json"]), nodeinfo


def test_a_typo_in_lemmy_api_is_refused(tiny, tmp_path):
    with FakeLemmy() as lemmy:
        rules = write_rules(tmp_path, lemmy, tiny)
        rules.write_text(rules.read_text().replace("timeout: 10s}", "timeout: 10s, api: v5}"))
        done = Bot(lemmy, tmp_path, rules)("check-rules", str(rules), check=False)
        assert done.returncode != 0 and "api" in done.stdout + done.stderr
        assert not lemmy.requests


# --------------------------------------------------------------------------- end to end

EVERY_ACTION = """
  - name: known abusive image
    priority: 100
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      purge_image: true
      ban: {scope: site, duration: 3d, remove_data: false, reason: "known abusive image"}
      notify_admins: "known abusive image at {{permalink}}"
  - name: purge it
    priority: 90
    if: {hash_list: purge-it}
    then:
      purge_item: true
      ban: {scope: community, duration: permanent, reason: "purged"}
  - name: probe
    if: {labels: [probe]}
    then:
      report: "probe"
"""


def every_action_rules(directory: Path, lemmy, tiny, *, known_bad, purge_it) -> Path:
    rules = write_rules(directory, lemmy, tiny, known_bad=known_bad, rules=EVERY_ACTION)
    (directory / "purge-it.txt").write_text("".join(f"{h}\n" for h in purge_it))
    text = rules.read_text().replace(
        "hash_lists:\n", "hash_lists:\n  purge-it: {kind: sha256, file: purge-it.txt}\n"
    )
    rules.write_text(text.replace("timeout: 10s}", "timeout: 10s, report_to_admins: true}"))
    return rules


def test_a_lemmy_1_0_instance_is_moderated_end_to_end_in_v4_only(photos, tiny, tmp_path):
    """Every image location (an image post's proxied URL and its thumbnail, a stored
    link thumbnail in the media list, markdown in a post and a comment, an upload never
    posted, a 0.19 `/pictrs/image/` link left from before the upgrade), every action,
    with and without pict-rs' key; every answer fits the js-client's types."""
    with FakeLemmy(version="1.0", image_rate_limit=None) as lemmy:
        cast = standard_cast(lemmy)
        failures = validate_answers(lemmy)
        others, flagged = tiny.others, tiny.flagged
        bad = lemmy.add_upload(cast.alice, photos[BAD])
        bad_post = lemmy.add_post(cast.pics, cast.alice, name="bad", url=bad.url)
        image_post = lemmy.add_post(
            cast.pics, cast.bob, name="remote image", url=remote_photo(lemmy, photos, others[0])
        )
        article = lemmy.add_remote_file("a.html", b"<html>article</html>", content_type="text/html")
        link_post = lemmy.add_post(cast.pics, cast.alice, name="an article", url=article)
        thumb = lemmy.add_thumbnail(photos[others[1]], post=link_post)
        body_post = lemmy.add_post(
            cast.pics, cast.bob, name="md", body=f"![x]({remote_photo(lemmy, photos, flagged)})"
        )
        legacy = lemmy.add_upload(cast.bob, photos["grace_hopper"])
        legacy_comment = lemmy.add_comment(
            body_post, cast.alice, content=f"old ![y]({lemmy.legacy_image_url(legacy.alias)})"
        )
        to_purge = lemmy.add_upload(cast.bob, photos[others[2]])
        purged_comment = lemmy.add_comment(image_post, cast.bob, content=f"![z]({to_purge.url})")
        never_posted = lemmy.add_upload(cast.alice, photos[others[0]])

        rules = every_action_rules(
            tmp_path,
            lemmy,
            tiny,
            known_bad=[sha(photos[BAD])],
            purge_it=[sha(photos[others[2]])],
        )
        bot = Bot(lemmy, tmp_path, rules, pictrs=False)
        done = bot("run", "--once")
        assert "Lemmy API v4: nodeinfo says Lemmy 1.0.0-beta.1" in done.stderr

        assert [r.path for r in lemmy.requests if r.path.startswith("/api/v3/")] == []
        assert [r.path for r in lemmy.requests if r.server == "pictrs"] == []
        assert failures == []

        records = bot.decisions()
        where = {(r["item"]["kind"], r["item"]["id"], r["image"]["location"]) for r in records}
        assert {
            ("post", bad_post.id, "post_url"),
            ("post", image_post.id, "post_url"),
            ("post", link_post.id, "thumbnail"),
            ("post", body_post.id, "body"),
            ("comment", legacy_comment.id, "comment"),
            ("comment", purged_comment.id, "comment"),
            ("upload", never_posted.alias, "upload"),
            ("upload", thumb.alias, "upload"),
        } <= where
        assert {r["skipped"] for r in records} == {None}
        # the 0.19 link was read through 1.0's image route
        (old,) = [
            r
            for r in records
            if r["item"] == {**r["item"], "kind": "comment", "id": legacy_comment.id}
        ]
        assert old["image"]["sha256"] == sha(photos["grace_hopper"])
        assert any(r.path == f"/api/v4/image/{legacy.alias}" for r in lemmy.requests)

        sent = [(r.method, r.path) for r in lemmy.mutating_requests()]
        assert ("PUT", "/api/v4/account/settings/save") in sent
        assert ("POST", "/api/v4/post/remove") in sent
        # without pict-rs' key no file is purged: Lemmy's DELETE /image would purge
        # every alias of it unchecked (test_s26b_v4_purge_shared_file)
        assert ("DELETE", "/api/v4/image") not in sent
        assert ("POST", "/api/v4/admin/ban") in sent
        assert ("POST", "/api/v4/admin/purge/comment") in sent
        assert ("POST", "/api/v4/community/ban_user") in sent
        assert ("POST", "/api/v4/post/report") in sent
        assert ("POST", "/api/v4/private_message") in sent
        assert lemmy.post(bad_post.id).removed and lemmy.image_exists(bad.alias)
        purges = [a for r in records for a in r["actions"] if a["action"] == "purge_image"]
        assert purges and {a["status"] for a in purges} == {"not_possible"}
        assert lemmy.person(cast.alice.id).banned
        assert lemmy.comment(purged_comment.id).purged
        assert (cast.pics.id, cast.bob.id) in lemmy.community_bans
        (report,) = [r for r in lemmy.reports if r.target_id == body_post.id]
        assert report.violates_instance_rules, "lemmy.report_to_admins: true"
        remove = next(r for r in lemmy.requests if r.path == "/api/v4/post/remove")
        assert remove.json["reason"] == "known abusive image"
        assert "remove_children" not in remove.json, "the replies are not the rule's"
        ban = next(r for r in lemmy.requests if r.path == "/api/v4/admin/ban")
        assert ban.json["remove_or_restore_data"] is False and ban.json["expires_at"] > 0
        login = next(r for r in lemmy.requests if r.path == "/api/v4/account/auth/login")
        assert login.json["stay_logged_in"] is True
        actions = {a["action"]: a["status"] for r in records for a in r["actions"]}
        assert set(actions) == {"remove", "purge_image", "purge_item", "ban", "report"} | {
            "notify_admins"
        }
        assert not lemmy.read_marking_requests(), "listing marks nothing read"

        # a second run repeats nothing
        before = len(lemmy.mutating_requests())
        bot("run", "--once")
        assert len(lemmy.mutating_requests()) == before
        assert failures == []


def test_dry_run_on_1_0_sends_nothing_and_marks_nothing_read(photos, tiny, tmp_path):
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        bad = lemmy.add_upload(cast.alice, photos[BAD])
        lemmy.add_post(cast.nsfw, cast.alice, name="bad", url=bad.url)
        lemmy.person(cast.bot.id).auto_mark_fetched_posts_as_read = True
        rules = every_action_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], purge_it=[])
        bot = Bot(lemmy, tmp_path, rules, pictrs=False)
        bot("run", "--once", "--dry-run")
        bot("sweep", "--dry-run", "--all")
        assert lemmy.mutating_requests() == []
        assert lemmy.read_marking_requests() == []
        statuses = {a["status"] for r in bot.decisions() for a in r["actions"]}
        # purge_image without pict-rs' key: not possible on 1.0 either (test_s26b_v4_...)
        assert "planned" in statuses and statuses <= {"planned", "skipped", "not_possible"}


def test_a_renamed_field_is_a_malformed_item_not_a_guess(photos, tiny, tmp_path):
    """The v4 views read 1.0's names only: a post whose `published_at` came as 0.19's
    `published` is recorded as malformed (and the rest of the page goes on)."""
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        renamed = lemmy.add_post(cast.pics, cast.alice, name="renamed")
        fine = lemmy.add_post(
            cast.pics, cast.alice, name="fine", url=remote_photo(lemmy, photos, tiny.others[0])
        )

        def rename(body):
            for view in body.get("items", []):
                if view["post"]["id"] == renamed.id:
                    view["post"]["published"] = view["post"].pop("published_at")
            return body

        lemmy.tamper("/api/v4/post/list", rename)
        bot = Bot(lemmy, tmp_path, write_rules(tmp_path, lemmy, tiny))
        bot("run", "--once", "--dry-run")
        by_id = {r["item"]["id"]: r for r in bot.decisions()}
        assert by_id[renamed.id]["skipped"] == "malformed_item"
        assert "`post.published_at` is missing" in by_id[renamed.id]["skipped_detail"]
        assert by_id[fine.id]["skipped"] is None


def test_every_field_the_v4_views_read_is_in_the_js_client_types():
    """views_v4.VIEW_FIELDS against the schemas: a field renamed in Lemmy's types (and so
    in the fake, whose answers are validated against them) fails here."""
    schemas = {
        "post": ("GetPostsResponse", "PostView"),
        "comment": ("GetCommentsResponse", "CommentView"),
        "upload": ("ListMediaResponse", "LocalImageView"),
    }
    for kind, (schema_name, view) in schemas.items():
        definitions = json.loads((SCHEMAS / f"{schema_name}.json").read_text())["definitions"]
        for path, _, _ in views_v4.VIEW_FIELDS[kind]:
            node = definitions[view]
            for name in path.split("."):
                props = node.get("properties") or {}
                assert name in props, f"{kind}: {path} is not in {view}"
                node = props[name]
                if "$ref" in node:
                    node = definitions[node["$ref"].rsplit("/", 1)[-1]]


# --------------------------------------------------------------------------- the client


def test_the_login_outlives_1_0s_week_and_a_dropped_one_is_noticed():
    with FakeLemmy(version="1.0") as lemmy:
        standard_cast(lemmy)
        client = LemmyClientV4(lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0)
        assert client.check_session().account is not None
        assert lemmy.age_tokens(timedelta(days=8)) == 0, "stay_logged_in: no expiry"
        assert client.check_session().account is not None and client.logins == 1
        lemmy.invalidate_tokens("modbot")
        site = client.check_session()  # validate_auth: 400 not_logged_in -> log in again
        assert site.account is not None and site.account.admin and client.logins == 2


def test_429_is_waited_out_and_paging_follows_the_cursors():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice)
        comments = [lemmy.add_comment(post, cast.bob, content=f"c{i}") for i in range(120)]
        slept: list[float] = []
        client = LemmyClientV4(
            lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=slept.append
        )
        lemmy.fail_next("/api/v4/comment/list", times=1)  # 429, Retry-After: 1
        # page 3 first: the client reads pages 1 and 2 for their cursors
        third = client.comments(3)
        assert slept == [1.0]
        assert [c.id for c in third.items] == [c.id for c in comments[19::-1]]
        assert [c.id for c in client.comments(1).items] == [c.id for c in comments[:69:-1]]
        assert client.comments(4).items == []
        listed = [r for r in lemmy.requests if r.path == "/api/v4/comment/list"]
        assert all(r.query["sort"] == "new" and r.query["type_"] == "all" for r in listed)


def test_new_uploads_are_found_in_1_0s_unordered_media_list(photos, tiny, pipeline_for):
    """1.0's media list has no order (the fake lists the oldest first): a new upload on
    its last page is still found by the next upload poll."""
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        old = now() - timedelta(days=3)
        for i in range(70):
            lemmy.add_upload(cast.alice, photos["chelsea"], published=old + timedelta(minutes=i))
        pipeline = pipeline_for(lemmy)
        assert pipeline.poll_once(deep=True).items_seen == 0, "older than the lookback"
        new = lemmy.add_upload(cast.bob, photos[tiny.others[0]])
        pipeline.source.uploads_every = timedelta(0)
        lemmy.clear_requests()
        pipeline.poll_once(deep=False)
        decided = [r["item"]["id"] for r in pipeline.store.decisions(run_id=pipeline.run_id)]
        assert new.alias in decided
        pages = [r for r in lemmy.requests if r.path == "/api/v4/image/list"]
        assert len(pages) == 2 and "page_cursor" in pages[1].query


def test_demo_on_lemmy_1_0(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "modbot", "demo", "--lemmy", "1.0", "--test-model"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "a fake Lemmy 1.0.0-beta.1 instance (API v4)" in done.stdout
    assert "requests that changed anything on the instance: 0 (dry run)" in done.stdout
    doc = json.loads((tmp_path / "modbot-demo-report.json").read_text())
    decisions = doc["decisions"]
    assert {d["image"]["location"] for d in decisions} == {
        "post_url",
        "thumbnail",
        "body",
        "comment",
        "upload",
    }
    assert any("/api/v4/image/proxy" in d["image"]["url"] for d in decisions)


def _emoji(lemmy, url: str, shortcode: str = "party") -> None:
    from fakelemmy.state import CustomEmoji

    with lemmy.state.lock:
        lemmy.state.custom_emojis.append(
            CustomEmoji(len(lemmy.state.custom_emojis) + 1, shortcode, url, now(), shortcode)
        )


def test_the_sites_custom_emojis_are_read_from_1_0s_emoji_list():
    # 1.0 moved them out of GET /site (0.19's `custom_emojis`) to GET /custom_emoji/list
    with FakeLemmy(version="1.0") as lemmy:
        standard_cast(lemmy)
        url = f"{lemmy.url}/api/v4/image/party.png"
        _emoji(lemmy, url)
        _emoji(lemmy, "")  # an entry without its image: skipped
        client = LemmyClientV4(lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0)
        assert client.check_session().custom_emoji_urls == {url}
        assert client.site_info().custom_emoji_urls == {url}
        (listed,) = {r.path for r in lemmy.requests if "emoji" in r.path}
        assert listed == "/api/v4/custom_emoji/list"
        assert not [r for r in lemmy.requests if r.ignored_fields]


def test_an_emoji_of_the_site_in_a_comment_is_not_judged_on_1_0(photos, pipeline_for):
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        emoji = remote_photo(lemmy, photos, BAD)
        _emoji(lemmy, emoji)
        post = lemmy.add_post(cast.pics, cast.bob, name="party")
        comment = lemmy.add_comment(post, cast.alice, content=f'hi ![party]({emoji} "emoji party")')
        pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])])
        pipeline.poll_once(deep=True)
        decided = [
            (r["item"]["kind"], r["item"]["id"])
            for r in pipeline.store.decisions(run_id=pipeline.run_id)
        ]
        assert ("comment", comment.id) not in decided
        assert not lemmy.comment(comment.id).removed


def test_an_action_lemmy_rate_limited_is_retried_under_a_new_idempotency_key():
    """Lemmy 1.0's idempotency middleware keeps a key before the rate limiter runs
    (crates/server/src/lib.rs wraps it outside the routes' rate limits), as the fake
    does: the retry of a 429 under the same key answers 422 though nothing was done."""
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice)
        client = LemmyClientV4(
            lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=lambda s: None
        )
        lemmy.fail_next("/api/v4/post/remove")  # Lemmy's 429, after the key was kept
        client.remove_post(post.id, "known abusive image")
        assert lemmy.post(post.id).removed, "the 429 was retried, not read as done"
        tries = [r.status for r in lemmy.requests if r.path == "/api/v4/post/remove"]
        assert tries == [429, 200]


def test_a_media_list_walk_keeps_only_the_newest_uploads_a_reader_can_reach(photos, monkeypatch):
    """1.0's media list has no order, so every upload poll reads all of it; what it
    keeps is bounded by what ``uploads`` can hand out (``MAX_PAGE`` pages), not by the
    instance's uploads (a million of them held ~1 GB). Scaled down here."""
    from modbot.lemmy import v4

    monkeypatch.setattr(v4, "MEDIA_KEPT", 60, raising=False)
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        start = now() - timedelta(days=3)
        uploads = [
            lemmy.add_upload(cast.alice, photos["chelsea"], published=start + timedelta(minutes=i))
            for i in range(130)
        ]  # the fake lists the oldest first: the newest are on the last page
        client = LemmyClientV4(lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0)
        handed = [i.id for n in (1, 2, 3) for i in client.uploads(n).items]
        assert handed == [u.alias for u in reversed(uploads[-60:])]
        assert len(client._media or []) == 60
        pages = [r for r in lemmy.requests if r.path == "/api/v4/image/list"]
        assert len(pages) == 3, "the whole list is still read"
