"""Values in rules.yaml that read as something else than the admin meant: each is a
problem at its line (or works as documented), never a rule that quietly does more."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from modbot.config.policy import load_policy
from modbot.errors import PolicyError
from modbot.rules import Subject


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def errors(tmp_path: Path, text: str) -> list[str]:
    """The problems of `text` as rules.yaml, which must not load."""
    with pytest.raises(PolicyError) as info:
        load_policy(write(tmp_path, text))
    return [str(p).replace(str(tmp_path) + "/", "") for p in info.value.problems]


def innocent_post() -> Subject:
    return Subject(
        item_kind="post",
        found_in="post_url",
        labels=[],
        scores={"nsfw": -0.1},
        community_name="pics@lemmy.example",
        author_actor_id="https://lemmy.example/u/alice",
        author_local=True,
        sha256="ab" * 32,
    )


# --- a condition written with no value -------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "hash_list",
        "labels",
        "scores",
        "community",
        "author",
        "found_in",
        "skipped",
        "fetch_failed",
        "unreadable",
        "scope",
    ],
)
def test_a_condition_left_without_a_value_is_an_error_at_its_line(tmp_path: Path, key: str):
    # As when the list under `hash_list:` is commented out while testing: YAML reads the
    # key as null, which must not mean "no condition" (the rule would match every post).
    (tmp_path / "kb.sha256").write_text("")
    text = f"""
    hash_lists:
      known-bad: {{kind: sha256, file: kb.sha256}}
    rules:
      - name: known abusive image
        if:
          type: [post, comment]
          {key}:
            # - known-bad     (commented out while testing)
        then:
          remove: true
          purge_image: true
          ban: {{duration: permanent, remove_data: true}}
    """
    assert errors(tmp_path, text) == [
        f"rules.yaml:7: rule 'known abusive image': if.{key}: has no value: "
        "give one, or leave the key out"
    ]


@pytest.mark.parametrize(
    "condition, line, where",
    [
        ("community: {name: , local: true}", 4, "if.community.name"),
        ("author: {local: true, account_age: }", 4, "if.author.account_age"),
        ("type:", 4, "if.type"),
    ],
)
def test_nested_and_type_conditions_without_a_value(
    tmp_path: Path, condition: str, line: int, where: str
):
    text = f"""
    rules:
      - name: r
        if:
          {condition}
        then: {{remove: true}}
    """
    assert errors(tmp_path, text) == [
        f"rules.yaml:{line}: rule 'r': {where}: has no value: give one, or leave the key out"
    ]


def test_a_gate_rule_with_an_empty_condition_is_refused(tmp_path: Path):
    # (read as no condition, it would refuse every upload)
    text = """
    rules:
      - name: gate
        if:
          type: incoming
          hash_list:
        then: {reject: true}
    """
    assert errors(tmp_path, text) == [
        "rules.yaml:5: rule 'gate': if.hash_list: has no value: give one, or leave the key out"
    ]


def test_conditions_with_values_still_load_and_match_as_before(tmp_path: Path):
    (tmp_path / "kb.sha256").write_text("")
    policy = load_policy(
        write(
            tmp_path,
            """
            hash_lists:
              known-bad: {kind: sha256, file: kb.sha256}
            rules:
              - name: known
                if: {type: [post, comment], hash_list: known-bad}
                then: {remove: true}
              - name: nsfw here
                if:
                  labels: [nsfw]
                  community: {name: pics@lemmy.example, local: true}
                  author: {local: true}
                then: {report: true}
            """,
        )
    )
    assert policy.decide(innocent_post()).actions == []


# --- fetch.recheck_after: 0s -----------------------------------------------------------


@pytest.mark.parametrize("zero", ["0s", "0m", "0 seconds"])
def test_recheck_after_zero_means_always_ask(tmp_path: Path, zero: str):
    # docs/rules.md: "`0s`: always ask"
    policy = load_policy(write(tmp_path, f"fetch: {{recheck_after: {zero}}}\nrules: []\n"))
    assert policy.fetch.recheck_after == timedelta(0)


def test_other_durations_still_refuse_zero(tmp_path: Path):
    assert errors(tmp_path, "fetch: {recheck_after: 0, read_timeout: 0s}\nrules: []\n") == [
        "rules.yaml:1: fetch.read_timeout: a duration must be longer than zero, got '0s'",
        "rules.yaml:1: fetch.recheck_after: 0 has no unit: write 0s, 0m, 0h or 0d",
    ]


# --- {{scores.danbooru:TAG}} -----------------------------------------------------------


def test_a_danbooru_tag_score_placeholder_is_taken_and_filled(tmp_path: Path):
    # a rule may test `danbooru:TAG`, so its text may show it, as render() does
    policy = load_policy(
        write(
            tmp_path,
            """
            rules:
              - name: bikini
                if: {scores: {"danbooru:bikini": "> 0"}}
                then: {report: "bikini {{scores.danbooru:bikini}}"}
            """,
        )
    )
    post = innocent_post()
    post.scores = {"nsfw": -0.1, "danbooru:bikini": 0.31}
    (report,) = policy.decide(post).actions
    assert report.kind == "report" and report.reason == "bikini +0.3100"


def test_a_danbooru_placeholder_without_a_tag_is_still_unknown(tmp_path: Path):
    (problem,) = errors(
        tmp_path,
        """
        rules:
          - name: r
            if: {labels: nsfw}
            then: {report: "{{scores.danbooru:}} {{scores.danbooru:a}}"}
        """,
    )
    assert problem.startswith("rules.yaml:4: unknown placeholder {{scores.danbooru:}}")


# --- feeds in exempt.hash_lists --------------------------------------------------------


def _feed_rules(use: str) -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from modbot.feeds import public_key_text

    key = public_key_text(Ed25519PrivateKey.generate())
    return f"""
    feeds:
      peer: {{url: "https://peer.example/hashes.json", key: "{key}", use: {use}}}
    exempt:
      hash_lists: [peer]
    rules:
      - name: csam
        if: {{labels: csam}}
        then: {{remove: true}}
    """


def test_a_known_bad_feed_as_an_allow_list_is_an_error(tmp_path: Path):
    # its entries are the peer's bad files: exempting them would spare exactly those
    assert errors(tmp_path, _feed_rules("known-bad")) == [
        "rules.yaml:4: exempt.hash_lists: feed 'peer' is a known-bad feed: its entries are "
        "images the peer found bad; to exempt a peer's checked images, subscribe to its "
        "feed with use: allow-list"
    ]


def test_an_allow_list_feed_in_exempt_hash_lists_still_loads(tmp_path: Path):
    policy = load_policy(write(tmp_path, _feed_rules("allow-list")))
    assert "peer" in policy.allow_lists


# --- exempt.users and exempt.communities -------------------------------------------------


def bobs_post() -> Subject:
    return Subject(
        item_kind="post",
        found_in="post_url",
        labels=["nsfw"],
        community_name="https://lemmy.example/c/pics",
        community_local=True,
        author_actor_id="https://lemmy.example/u/bob",
        author_local=True,
    )


EXEMPT_RULES = """
exempt:
  {key}: {value}
rules:
  - name: r
    if: {{labels: nsfw}}
    then: {{remove: true}}
"""


@pytest.mark.parametrize(
    "key, value, message",
    [
        (
            "users",
            '"alice@lemmy.example, bob@lemmy.example"',
            "exempt.users.0: 'alice@lemmy.example, bob@lemmy.example' names more than one: "
            "write a list, one name each: [alice@lemmy.example, bob@lemmy.example]",
        ),
        (
            "users",
            "[alice@lemmy.example bob@lemmy.example]",
            "exempt.users.0: 'alice@lemmy.example bob@lemmy.example' names more than one: "
            "write a list, one name each: [alice@lemmy.example, bob@lemmy.example]",
        ),
        (
            "users",
            "[https://lemmy.example/u/bob/]",
            "exempt.users.0: an actor URL has no / at its end: write "
            "https://lemmy.example/u/bob (or bob@lemmy.example)",
        ),
        (
            "users",
            '[ok, "u/bob@lemmy.example"]',
            "exempt.users.1: 'u/bob@lemmy.example' never names a user: write name@instance, "
            "the actor URL (https://instance/u/name), or a bare name for a local user",
        ),
        (
            "communities",
            "[pics@lemmy.example, '@pics@lemmy.example']",
            "exempt.communities.1: '@pics@lemmy.example' never names a community: write "
            "name@instance, the actor URL (https://instance/c/name), or a bare name for a "
            "local community",
        ),
        (
            "communities",
            '["  "]',
            "exempt.communities.0: an empty name: leave it out",
        ),
    ],
)
def test_exempt_entries_that_never_match_are_errors(
    tmp_path: Path, key: str, value: str, message: str
):
    assert errors(tmp_path, EXEMPT_RULES.format(key=key, value=value)) == [
        f"rules.yaml:2: {message}"
    ]


@pytest.mark.parametrize(
    "key, value",
    [
        ("users", "bob@lemmy.example"),
        ("users", "[alice, '@Bob@Lemmy.example']"),
        ("users", "[' bob@lemmy.example']"),
        ("users", "[https://lemmy.example/u/bob]"),
        ("users", "[bob]"),
        ("communities", "['!pics@lemmy.example']"),
        ("communities", "[https://lemmy.example/c/pics]"),
        ("communities", "[pics]"),
    ],
)
def test_exempt_entries_as_documented_still_exempt(tmp_path: Path, key: str, value: str):
    policy = load_policy(write(tmp_path, EXEMPT_RULES.format(key=key, value=value)))
    plan = policy.decide(bobs_post())
    assert plan.actions == [] and plan.exempt is not None


# --- what the shipped files say --------------------------------------------------------

DEFAULTS = Path(__file__).resolve().parents[1] / "modbot" / "defaults"


def test_the_shipped_rules_comment_names_rules_without_a_type():
    import re

    import yaml

    text = (DEFAULTS / "rules.yaml").read_text()
    comments = re.sub(r"\n#\s*", " ", text)  # a sentence over several comment lines
    said = re.search(r"A rule without `type:` \(like `([^`]+)` and the (\w+) after it\)", comments)
    assert said, "the comment names the rules it means"
    rules = yaml.safe_load(text)["rules"]
    first = next(i for i, r in enumerate(rules) if r["name"] == said.group(1))
    count = {"one": 1, "two": 2, "three": 3}[said.group(2)]
    assert [r["if"].get("type") for r in rules[first : first + 1 + count]] == [None] * (count + 1)


def test_the_env_file_init_writes_says_an_image_is_not_purged_without_pictrs():
    # modbot.actions.handlers: without pict-rs access the image stays, recorded
    # not_possible; the post is never purged instead
    text = (DEFAULTS / "env.example").read_text()
    about = text[text.index("# Optional: pict-rs' internal API") : text.index("# PICTRS_URL=")]
    assert "not_possible" in about and "never purged instead" in about, about
