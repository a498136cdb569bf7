"""Rule matching: AutoModerator semantics, exemptions, conditions, placeholders."""

from __future__ import annotations

import io
import shutil
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from PIL import Image

from modbot.config.policy import load_policy, resolve_rules_path
from modbot.errors import PolicyError
from modbot.hashes import perceptual_hash, sha256_hex
from modbot.rules import Subject

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
BAD = sha256_hex(b"known bad bytes")


def policy(tmp_path: Path, text: str, **lists: str):
    for name, content in lists.items():
        (tmp_path / name).write_text(content)
    path = tmp_path / "rules.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return load_policy(path)


def post(**kw) -> Subject:
    """An ordinary post by a local user in a local SFW community, with a clean verdict."""
    fields = dict(
        item_kind="post",
        found_in="post_url",
        item_local=True,
        community_name="pics@lemmy.test",
        community_nsfw=False,
        community_local=True,
        author_actor_id="https://lemmy.test/u/alice",
        author_local=True,
        author_bot=False,
        author_published=NOW - timedelta(days=400),
        labels=(),
        scores={"nsfw": -0.05, "csam": -0.1, "underage": -0.05, "subject": 0.01, "anime": -0.02},
        sha256=sha256_hex(b"some image"),
        permalink="https://lemmy.test/post/7",
        image_url="https://lemmy.test/pictrs/image/abc.jpg",
    )
    fields.update(kw)
    return Subject(**fields)


SEMANTICS = """
hash_lists:
  bad: {kind: sha256, file: bad.sha256}
rules:
  - name: report nsfw
    priority: 50
    if: {labels: [nsfw]}
    then: {report: "nsfw {{scores.nsfw}}"}
  - name: remove csam
    priority: 90
    if: {labels: [csam]}
    then: {remove: "csam", purge_image: true, notify_admins: "csam at {{permalink}}"}
  - name: ban known bad
    priority: 100
    if: {hash_list: bad}
    then:
      remove: "known bad {{sha256}}"
      purge_image: true
      ban: {scope: site, duration: permanent, remove_data: true, reason: "{{rule}} by {{author}}"}
  - name: remove nsfw anime
    if: {labels: [anime], scores: {nsfw: ">= 0"}}
    then: {remove: true}
  - name: tell admins about underage
    if: {labels: underage}
    then: {notify_admins: "underage: {{permalink}}"}
  - name: report underage too
    priority: -1
    if: {labels: underage}
    then: {report: "underage", notify_admins: "second notice"}
"""


@pytest.fixture
def semantics(tmp_path: Path):
    return policy(tmp_path, SEMANTICS, **{"bad.sha256": f"# list\n{BAD}\n"})


def kinds(plan) -> list[tuple[str, str]]:
    return [(a.kind, a.rule) for a in plan.actions]


def test_nothing_matches_nothing_is_done(semantics):
    plan = semantics.decide(post(), now=NOW)
    assert plan.actions == [] and plan.rule is None and plan.exempt is None and plan.matched == []


def test_highest_priority_removal_rule_wins(semantics):
    plan = semantics.decide(
        post(sha256=BAD, labels=("csam", "underage", "nsfw"), scores={"nsfw": 0.04}), now=NOW
    )
    assert plan.rule == "ban known bad"
    assert kinds(plan) == [
        ("remove", "ban known bad"),
        ("purge_image", "ban known bad"),
        ("ban", "ban known bad"),
        ("notify_admins", "tell admins about underage"),
    ]
    ban = plan.actions[2]
    assert ban.params == {
        "scope": "site",
        "duration_seconds": None,
        "remove_data": True,
        "community": "pics@lemmy.test",
    }
    assert ban.reason == "ban known bad by `alice@lemmy.test`"  # from content: a code span
    assert plan.actions[0].reason == f"known bad {BAD}"
    outcomes = {m.rule: m.outcome for m in plan.matched}
    assert outcomes == {
        "ban known bad": "acted",
        "remove csam": "superseded by 'ban known bad'",
        "report nsfw": "item already removed by 'ban known bad'",
        "tell admins about underage": "acted",
        "report underage too": "report already planned by 'tell admins about underage'",
    }
    assert plan.hash_lists == {"bad": "sha256"}
    assert plan.matched[0].conditions == ("hash list bad (sha256)",)


def test_report_and_notify_rules_all_apply_once_each(semantics):
    plan = semantics.decide(post(labels=("nsfw", "underage"), scores={"nsfw": 0.031}), now=NOW)
    assert kinds(plan) == [
        ("report", "report nsfw"),
        ("notify_admins", "tell admins about underage"),
    ]
    assert plan.actions[0].reason == "nsfw +0.0310"
    assert plan.actions[1].reason == "underage: https://lemmy.test/post/7"
    assert plan.rule == "report nsfw"
    # The lowest-priority rule matched too, but its report and notice were already planned.
    assert plan.matched[-1].rule == "report underage too"
    assert plan.matched[-1].outcome.startswith("report already planned")


@pytest.mark.parametrize(
    ("kind", "then", "item_down"),
    [
        ("post", "{remove: true}", True),
        ("post", "{purge_item: true}", True),
        ("post", "{ban: {duration: 3d, remove_data: true}}", True),
        # These leave the post up: the moderators still get the report.
        ("post", "{ban: {duration: 3d}}", False),
        ("post", "{purge_image: true}", False),
        ("post", "{delete_image: true}", False),
        ("post", "{ban: {duration: 3d}, purge_image: true}", False),
        # An upload is its image: purged, there is nothing left to report.
        ("upload", "{purge_image: true}", True),
        ("upload", "{ban: {duration: 3d}}", False),
    ],
)
def test_a_report_is_left_out_only_when_the_winner_takes_the_item_down(
    tmp_path: Path, kind: str, then: str, item_down: bool
):
    rules = f"""
    rules:
      - name: winner
        priority: 10
        if: {{labels: nsfw}}
        then: {then}
      - name: report nsfw
        if: {{labels: nsfw}}
        then: {{report: "nsfw"}}
      - name: report nsfw again
        priority: -1
        if: {{labels: nsfw}}
        then: {{report: "again"}}
    """
    subject = post(labels=("nsfw",), scores={"nsfw": 0.05})
    if kind == "upload":
        subject = post(item_kind="upload", found_in="upload", labels=("nsfw",))
    plan = policy(tmp_path, rules).decide(subject, now=NOW)
    reports = [(a.kind, a.rule) for a in plan.actions if a.kind == "report"]
    outcomes = {m.rule: m.outcome for m in plan.matched}
    if item_down:
        assert reports == []
        assert outcomes["report nsfw"] == "item already removed by 'winner'"
        assert outcomes["report nsfw again"] == "item already removed by 'winner'"
    else:
        assert reports == [("report", "report nsfw")]
        assert outcomes["report nsfw"] == "acted"
        assert outcomes["report nsfw again"] == "report already planned by 'report nsfw'"
    assert plan.rule == "winner" and outcomes["winner"] == "acted"


def test_scores_and_labels_must_all_hold(semantics):
    assert semantics.decide(post(labels=("anime",), scores={"nsfw": -0.001}), now=NOW).actions == []
    plan = semantics.decide(post(labels=("anime",), scores={"nsfw": 0.0}), now=NOW)
    assert kinds(plan) == [("remove", "remove nsfw anime")]
    assert plan.actions[0].reason == "Removed by modbot: remove nsfw anime"
    assert plan.matched[0].conditions == ("label anime", "score nsfw +0.0000 >= 0")
    # A missing score never passes a test.
    assert semantics.decide(post(labels=("anime",), scores={}), now=NOW).actions == []


def test_admins_are_never_acted_on(semantics):
    plan = semantics.decide(post(sha256=BAD, labels=("csam",), author_is_admin=True), now=NOW)
    assert plan.actions == []
    assert plan.exempt == "the author is an admin"
    assert plan.rule == "ban known bad"  # what would have acted
    assert {m.outcome for m in plan.matched} == {"exempt: the author is an admin"}


MODS = """
exempt: {moderators: %s}
rules:
  - name: remove csam
    priority: 10
    moderators_exempt: %s
    if: {labels: [csam]}
    then: {remove: "csam"}
  - name: report nsfw
    if: {labels: [nsfw]}
    then: {report: "nsfw"}
"""


def test_moderators_exempt_by_default(tmp_path: Path):
    p = policy(tmp_path, MODS % ("true", "null"))
    plan = p.decide(post(labels=("csam", "nsfw"), author_is_moderator=True), now=NOW)
    assert plan.actions == []
    assert plan.exempt == "the author moderates this community"
    assert p.decide(post(labels=("csam",)), now=NOW).actions[0].kind == "remove"


def test_a_rule_can_act_on_moderators(tmp_path: Path):
    p = policy(tmp_path, MODS % ("true", "false"))
    plan = p.decide(post(labels=("csam", "nsfw"), author_is_moderator=True), now=NOW)
    assert kinds(plan) == [("remove", "remove csam")]
    assert plan.exempt is None
    p = policy(tmp_path, MODS % ("false", "null"))
    plan = p.decide(post(labels=("nsfw",), author_is_moderator=True), now=NOW)
    assert kinds(plan) == [("report", "report nsfw")]


def test_lower_removal_rule_applies_when_the_higher_one_exempts_moderators(tmp_path: Path):
    p = policy(
        tmp_path,
        """
        rules:
          - name: strict
            priority: 10
            if: {labels: [csam]}
            then: {remove: "strict", purge_image: true}
          - name: for everyone
            moderators_exempt: false
            if: {labels: [csam]}
            then: {remove: "everyone"}
    """,
    )
    plan = p.decide(post(labels=("csam",), author_is_moderator=True), now=NOW)
    assert kinds(plan) == [("remove", "for everyone")]
    assert [m.outcome for m in plan.matched] == [
        "exempt: the author moderates this community",
        "acted",
    ]


@pytest.mark.parametrize(
    "entry, actor, local, exempt",
    [
        ("alice@lemmy.test", "https://lemmy.test/u/alice", True, True),
        ("@Alice@Lemmy.test", "https://lemmy.test/u/alice", True, True),
        ("https://lemmy.test/u/alice", "https://lemmy.test/u/alice", True, True),
        ("alice", "https://lemmy.test/u/alice", True, True),
        ("alice", "https://evil.example/u/alice", False, False),  # a bare name is local only
        ("alice@lemmy.test", "https://evil.example/u/alice", False, False),
        # authors from servers other than Lemmy, by the path forms of their actor ids
        ("alice@mastodon.social", "https://mastodon.social/users/alice", False, True),
        ("@Bob@Tube.example", "https://tube.example/accounts/bob", False, True),
        ("alice@mastodon.social", "https://evil.example/users/alice", False, False),
        ("alice@mastodon.social", "https://mastodon.social/c/alice", False, False),
        ("alice", "https://mastodon.social/users/alice", False, False),
    ],
)
def test_exempt_users(tmp_path: Path, entry: str, actor: str, local: bool, exempt: bool):
    p = policy(
        tmp_path,
        f"""
        exempt: {{users: ["{entry}"]}}
        rules:
          - name: r
            if: {{labels: [nsfw]}}
            then: {{report: "x"}}
    """,
    )
    plan = p.decide(post(labels=("nsfw",), author_actor_id=actor, author_local=local), now=NOW)
    assert (plan.actions == []) is exempt
    if exempt:
        assert plan.exempt == f"the author is in exempt.users ({entry})"


@pytest.mark.parametrize(
    "entry, community, local, exempt",
    [
        ("medicine@lemmy.test", "medicine@lemmy.test", True, True),
        ("!medicine@lemmy.test", "medicine@lemmy.test", True, True),
        ("medicine", "medicine@lemmy.test", True, True),
        ("medicine", "medicine@other.example", False, False),
        ("https://other.example/c/art", "art@other.example", False, False),
        ("https://other.example/c/art", "https://other.example/c/art", False, True),
        # a community known by its actor id: an mbin magazine, a PeerTube channel
        ("art@other.example", "https://other.example/m/art", False, True),
        ("!art@other.example", "https://other.example/video-channels/art", False, True),
        ("art@other.example", "https://other.example/c/art", False, True),
        ("art@other.example", "https://other.example/users/art", False, False),
    ],
)
def test_exempt_communities(tmp_path: Path, entry: str, community: str, local: bool, exempt: bool):
    p = policy(
        tmp_path,
        f"""
        exempt: {{communities: ["{entry}"]}}
        rules:
          - name: r
            if: {{labels: [nsfw]}}
            then: {{report: "x"}}
    """,
    )
    plan = p.decide(
        post(labels=("nsfw",), community_name=community, community_local=local), now=NOW
    )
    assert (plan.actions == []) is exempt


def resized(name: str, width: int) -> bytes:
    img = Image.open(DATA / f"{name}.jpg").convert("RGB")
    img = img.resize((width, int(img.height * width / img.width)))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=50)
    return out.getvalue()


def test_allow_listed_image_is_never_acted_on_even_as_a_recompressed_copy(tmp_path: Path):
    innocent = (DATA / "chelsea.jpg").read_bytes()
    p = policy(
        tmp_path,
        """
        hash_lists:
          innocent: {kind: phash, file: innocent.phash, max_distance: 4}
        exempt: {hash_lists: [innocent]}
        rules:
          - name: remove csam
            moderators_exempt: false
            if: {labels: [csam]}
            then: {remove: "csam", purge_image: true}
    """,
        **{"innocent.phash": f"# checked false positive\n{perceptual_hash(innocent)}\n"},
    )
    copy = resized("chelsea", 200)
    plan = p.decide(post(labels=("csam",), image=copy, sha256=sha256_hex(copy)), now=NOW)
    assert plan.actions == []
    assert plan.exempt.startswith("the image is on the allow-list 'innocent' (phash distance ")
    assert plan.rule == "remove csam"
    other = (DATA / "coffee.jpg").read_bytes()
    plan = p.decide(post(labels=("csam",), image=other), now=NOW)
    assert kinds(plan) == [("remove", "remove csam"), ("purge_image", "remove csam")]
    assert plan.phash == perceptual_hash(other)
    # An already computed phash is used as is; undecodable bytes just match no list.
    plan = p.decide(post(labels=("csam",), phash=perceptual_hash(innocent)), now=NOW)
    assert plan.actions == []
    plan = p.decide(post(labels=("csam",), image=b"<html>"), now=NOW)
    assert len(plan.actions) == 2 and plan.phash is None


def test_known_bad_perceptual_list_catches_a_resized_copy(tmp_path: Path):
    bad = (DATA / "astronaut.jpg").read_bytes()
    p = policy(
        tmp_path,
        """
        hash_lists:
          similar: {kind: phash, file: similar.phash, max_distance: 4}
        rules:
          - name: copy of known bad
            if: {hash_list: similar}
            then: {remove: "copy", notify_admins: "{{hash_list}} {{phash}}"}
    """,
        **{"similar.phash": f"{perceptual_hash(bad)}\n"},
    )
    plan = p.decide(post(image=resized("astronaut", 300)), now=NOW)
    assert kinds(plan) == [("remove", "copy of known bad"), ("notify_admins", "copy of known bad")]
    assert plan.actions[1].reason == f"similar {plan.phash}"
    assert p.decide(post(image=(DATA / "china.jpg").read_bytes()), now=NOW).actions == []


CONDITIONS = """
rules:
  - name: r
    if: %s
    then: {report: "x"}
"""


@pytest.mark.parametrize(
    "condition, subject, matches",
    [
        ("{type: post}", {}, True),
        ("{type: post}", {"item_kind": "comment", "found_in": "comment"}, False),
        ("{type: [comment, upload]}", {"item_kind": "upload", "found_in": "upload"}, True),
        ("{type: any}", {"item_kind": "upload"}, True),
        ("{found_in: thumbnail}", {"found_in": "thumbnail"}, True),
        ("{found_in: [body, comment]}", {"found_in": "post_url"}, False),
        ("{unreadable: true}", {"unreadable": "truncated file", "labels": (), "scores": {}}, True),
        ("{unreadable: true}", {}, False),
        ("{unreadable: false}", {}, True),
        ("{labels: [nsfw, csam]}", {"labels": ("csam",)}, True),
        ("{labels: [nsfw, csam]}", {"labels": ("anime",)}, False),
        ("{scores: {subject: '> 0', nsfw: '< -0.04'}}", {}, True),
        ("{scores: {subject: '> 0', nsfw: '< -0.06'}}", {}, False),
        ("{community: {nsfw: false}}", {}, True),
        ("{community: {nsfw: true}}", {}, False),
        # An upload has no community: a community condition never matches it.
        (
            "{community: {nsfw: false}}",
            {
                "item_kind": "upload",
                "community_name": None,
                "community_nsfw": None,
                "community_local": None,
            },
            False,
        ),
        ("{community: {name: [pics, memes]}}", {}, True),
        ("{community: {name: pics, local: false}}", {}, False),
        ("{community: {name: 'pics@other.example'}}", {}, False),
        (
            "{community: {local: false}}",
            {"community_name": "art@other.example", "community_local": False},
            True,
        ),
        ("{author: {local: true, bot_account: false}}", {}, True),
        ("{author: {bot_account: true}}", {"author_bot": True}, True),
        ("{author: {account_age: '< 3d'}}", {"author_published": NOW - timedelta(days=2)}, True),
        ("{author: {account_age: '< 3d'}}", {"author_published": "2026-11-17T10:00:00Z"}, False),
        (
            "{author: {account_age: '< 3d'}}",
            {"author_published": "2026-11-20T10:00:00.123456"},
            True,
        ),
        ("{author: {account_age: '< 3d'}}", {"author_published": None}, False),
        ("{author: {moderator: true}}", {"author_is_moderator": True}, True),
        ("{scope: local}", {}, True),
        ("{scope: federated}", {}, False),
        ("{scope: federated}", {"item_local": None, "author_local": False}, True),
        ("{scope: local}", {"item_local": None, "author_local": None}, False),
        ("{scope: all}", {"item_local": None, "author_local": None}, True),
    ],
)
def test_conditions(tmp_path: Path, condition: str, subject: dict, matches: bool):
    p = policy(tmp_path, CONDITIONS % condition)
    plan = p.decide(post(**subject), now=NOW)
    assert (plan.actions != []) is matches, plan.matched


def test_matched_conditions_explain_the_decision(tmp_path: Path):
    p = policy(
        tmp_path,
        CONDITIONS
        % """
        {type: post, found_in: thumbnail, labels: [nsfw], scores: {nsfw: "> 0.02"},
         community: {name: pics, nsfw: false, local: true},
         author: {local: true, account_age: "< 3d"}, scope: local}""",
    )
    plan = p.decide(
        post(
            found_in="thumbnail",
            labels=("nsfw",),
            scores={"nsfw": 0.031},
            author_published=NOW - timedelta(days=1, hours=2),
        ),
        now=NOW,
    )
    assert plan.matched[0].conditions == (
        "type post",
        "found in thumbnail",
        "label nsfw",
        "score nsfw +0.0310 > 0.02",
        "community pics@lemmy.test",
        "community nsfw: false",
        "community local",
        "author local",
        "author account age 1d2h < 3d",
        "scope local",
    )
    assert plan.to_dict()["matched"][0]["outcome"] == "acted"


def test_placeholders_and_ban_params(tmp_path: Path):
    p = policy(
        tmp_path,
        """
        hash_lists:
          bad: {kind: sha256, file: bad.sha256}
        rules:
          - name: week ban
            if: {hash_list: bad}
            then:
              ban: {scope: community, duration: 1w}
              report: "{{type}} {{found_in}} {{community}} {{labels}} {{image_url}} {{scores.csam}} {{scores.gore}}"
        concepts:
          gore: {prompts: [gore], threshold: 0.2}
    """,
        **{"bad.sha256": BAD + "\n"},
    )
    plan = p.decide(post(sha256=BAD, labels=("nsfw", "anime")), now=NOW)
    report, ban = plan.actions  # a report first: Lemmy takes none on a removed item
    assert ban.kind == "ban" and ban.reason == "week ban"
    assert ban.params["scope"] == "community" and ban.params["duration_seconds"] == 7 * 86400
    assert report.reason == (
        "post post_url `pics@lemmy.test` anime, nsfw "
        "`https://lemmy.test/pictrs/image/abc.jpg` -0.1000 ?"
    )


def test_unreadable_placeholder_and_from_verdict(tmp_path: Path):
    class Verdict:  # the classifier's Verdict fields the rules read
        labels = ()
        scores: ClassVar[dict] = {}
        unreadable = "decompression bomb: 200000000 pixels"
        sha256 = "cd" * 32

    p = policy(
        tmp_path,
        """
        rules:
          - name: broken image
            if: {unreadable: true, type: [post, comment]}
            then: {report: "could not check ({{unreadable}}) {{sha256}}"}
    """,
    )
    subject = Subject.from_verdict(Verdict(), item_kind="comment", found_in="comment")
    plan = p.decide(subject, now=NOW)
    assert (
        plan.actions[0].reason
        == f"could not check (`decompression bomb: 200000000 pixels`) {'cd' * 32}"
    )


def test_load_policy_refuses_an_invalid_file(tmp_path: Path):
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - name: x\n    if: {labels: [nsfv]}\n    then: {report: x}\n"
    )
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path / "rules.yaml")
    assert [str(p) for p in info.value.problems] == [
        f"{tmp_path / 'rules.yaml'}:3: unknown label 'nsfv' (did you mean 'nsfw'?); labels are "
        "anime, csam, nsfw, underage (custom ones come from concepts:)"
    ]
    assert "modbot check-rules" in str(info.value)


def test_resolve_rules_path(monkeypatch):
    monkeypatch.delenv("MODBOT_RULES", raising=False)
    assert resolve_rules_path(None) == Path("rules.yaml")
    monkeypatch.setenv("MODBOT_RULES", "/etc/modbot/rules.yaml")
    assert resolve_rules_path(None) == Path("/etc/modbot/rules.yaml")
    assert resolve_rules_path("mine.yaml") == Path("mine.yaml")


def test_settings_are_typed(tmp_path: Path):
    p = policy(
        tmp_path,
        """
        classifier: {model: modbot-tiny, pretrained: null, checkpoint: w/tiny.pt, device: cpu,
                     allow_random_weights: true}
        fetch: {max_bytes: 2MiB, connect_timeout: 1.5s, allow_hosts: cdn.internal}
        lemmy: {lookback: 1h30m}
        schedule: {poll_every: 5m, sweep_cron: null, sweep_since: all}
        safety_valve: {max_destructive_actions_per_hour: 3}
        rules: []
    """,
    )
    assert p.classifier.model == "modbot-tiny" and p.classifier.pretrained is None
    assert p.checkpoint_path == tmp_path / "w" / "tiny.pt"
    assert p.fetch.max_bytes == 2 * 1024 * 1024 and p.fetch.connect_timeout.total_seconds() == 1.5
    assert p.fetch.read_timeout == timedelta(seconds=10) and p.fetch.allow_hosts == ["cdn.internal"]
    assert p.lemmy.lookback == timedelta(minutes=90) and p.lemmy.requests_per_minute == 120
    assert p.schedule.poll_every == timedelta(minutes=5)
    assert p.schedule.sweep_cron is None and p.schedule.sweep_since is None
    assert p.safety_valve.max_destructive_actions_per_hour == 3
    assert p.exempt.moderators is True and p.rules == []
    assert [str(w).split(": ", 1)[1] for w in p.warnings] == [
        "warning: classifier checkpoint 'w/tiny.pt' does not exist here (the model will not "
        "load on this machine)",
        "warning: no rules: modbot will record verdicts but never act",
    ]


# --- the shipped policy ----------------------------------------------------------------------


@pytest.fixture
def shipped(tmp_path: Path):
    shutil.copy(ROOT / "rules.yaml", tmp_path / "rules.yaml")
    shutil.copytree(ROOT / "hashes", tmp_path / "hashes")
    with open(tmp_path / "hashes" / "known-bad.sha256", "a") as f:
        f.write(f"{BAD}  # test entry\n")
    bad_photo = (DATA / "astronaut.jpg").read_bytes()
    with open(tmp_path / "hashes" / "known-bad.phash", "a") as f:
        f.write(f"{perceptual_hash(bad_photo)}\n")
    innocent = (DATA / "coffee.jpg").read_bytes()
    with open(tmp_path / "hashes" / "innocent.phash", "a") as f:
        f.write(f"{perceptual_hash(innocent)}\n")
    return load_policy(tmp_path / "rules.yaml")


def test_shipped_known_bad_hash_removes_purges_bans_and_tells_admins(shipped):
    plan = shipped.decide(post(sha256=BAD, author_is_moderator=True), now=NOW)
    assert [a.kind for a in plan.actions] == ["remove", "purge_image", "ban", "notify_admins"]
    assert plan.actions[2].params["duration_seconds"] is None
    assert plan.actions[2].params["remove_data"] is True
    assert plan.actions[2].params["scope"] == "site"
    assert "alice@lemmy.test" in plan.actions[3].reason and BAD in plan.actions[3].reason


def test_shipped_near_copy_removes_and_purges_but_does_not_ban(shipped):
    plan = shipped.decide(post(image=resized("astronaut", 256)), now=NOW)
    assert plan.rule == "copy of a known abusive image"
    assert [a.kind for a in plan.actions] == ["remove", "purge_image", "notify_admins"]


def test_shipped_csam_label_removes_purges_notifies_without_a_ban(shipped):
    plan = shipped.decide(
        post(
            labels=("csam", "underage", "nsfw"),
            scores={"csam": 0.01, "underage": 0.02, "nsfw": 0.03},
        ),
        now=NOW,
    )
    assert plan.rule == "classifier flags CSAM"
    assert [a.kind for a in plan.actions] == ["remove", "purge_image", "notify_admins"]
    assert "csam +0.0100" in plan.actions[2].reason
    # The nsfw report rule matched too, but the item is already removed.
    assert plan.matched[-1].outcome == "item already removed by 'classifier flags CSAM'"
    # An upload never posted: still purged, the admins told.
    plan = shipped.decide(
        post(
            item_kind="upload",
            found_in="upload",
            community_name=None,
            community_nsfw=None,
            community_local=None,
            labels=("csam",),
        ),
        now=NOW,
    )
    assert [a.kind for a in plan.actions] == ["remove", "purge_image", "notify_admins"]


def test_shipped_allow_list_wins(shipped):
    innocent = (DATA / "coffee.jpg").read_bytes()
    plan = shipped.decide(post(labels=("csam",), image=innocent), now=NOW)
    assert plan.actions == [] and plan.exempt.startswith(
        "the image is on the allow-list 'innocent'"
    )


def test_shipped_nsfw_reported_only_outside_nsfw_communities(shipped):
    plan = shipped.decide(post(labels=("nsfw",), scores={"nsfw": 0.02}), now=NOW)
    assert [(a.kind, a.reason) for a in plan.actions] == [
        ("report", "NSFW image in a non-NSFW community (nsfw score +0.0200)")
    ]
    assert shipped.decide(post(labels=("nsfw",), community_nsfw=True), now=NOW).actions == []
    # A moderator posting in their own community is not reported.
    assert shipped.decide(post(labels=("nsfw",), author_is_moderator=True), now=NOW).actions == []


def test_shipped_unreadable_images_are_reported(shipped):
    plan = shipped.decide(post(unreadable="truncated file", labels=(), scores={}), now=NOW)
    assert [(a.kind, a.reason) for a in plan.actions] == [
        ("report", "modbot could not check this image (`truncated file`): please look at it")
    ]
    upload = post(item_kind="upload", found_in="upload", unreadable="truncated file")
    assert shipped.decide(upload, now=NOW).actions == []


def test_yaml_anchors_and_merge_keys_share_a_rule_body(tmp_path: Path):
    p = policy(
        tmp_path,
        """
        rules:
          - &report_nsfw
            name: nsfw in posts
            if: {labels: [nsfw], type: post}
            then: {report: "nsfw ({{rule}})"}
          - <<: *report_nsfw
            name: nsfw in comments
            if: {labels: [nsfw], type: comment}
    """,
    )
    plan = p.decide(post(item_kind="comment", found_in="comment", labels=("nsfw",)), now=NOW)
    assert [(a.kind, a.reason) for a in plan.actions] == [("report", "nsfw (nsfw in comments)")]


def test_true_gives_a_default_reason(tmp_path: Path):
    p = policy(
        tmp_path,
        """
        rules:
          - name: nsfw anime
            if: {labels: [anime, nsfw]}
            then: {report: true}
          - name: csam
            if: {labels: csam}
            then: {remove: true}
    """,
    )
    assert [a.reason for a in p.decide(post(labels=("anime",)), now=NOW).actions] == [
        "modbot: nsfw anime"
    ]
    assert [a.reason for a in p.decide(post(labels=("csam",)), now=NOW).actions] == [
        "Removed by modbot: csam"
    ]
