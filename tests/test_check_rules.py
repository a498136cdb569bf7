"""`modbot check-rules` through the real entry point: every kind of mistake, its FILE:LINE."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.check_rules import check, problems, write

ROOT = Path(__file__).resolve().parents[1]
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


BASE = """
hash_lists:
  bad: {kind: sha256, file: bad.sha256}
rules:
  - name: known bad
    priority: 10
    if: {hash_list: bad}
    then:
      remove: "known bad image {{sha256}}"
      ban: {scope: site, duration: permanent, remove_data: true}
"""


@pytest.fixture
def listed(tmp_path: Path) -> Path:
    (tmp_path / "bad.sha256").write_text(f"# header\n{SHA}\n")
    return tmp_path


def test_shipped_rules_yaml_is_valid_and_summarised():
    rc, out = check(ROOT, "rules.yaml")
    assert rc == 0, out
    assert out[-1].startswith(
        "rules.yaml: valid: 10 rules (3 removal, 5 report/notify, 2 at the upload gate)"
    )
    assert "known-bad (0 sha256)" in out[-1] and "innocent (0 phash <= 4)" in out[-1]
    # The shipped file does not ban on the classifier alone, so no warning either.
    assert len(out) == 1, out


def test_default_path_env_and_option(tmp_path: Path, listed: Path):
    write(tmp_path, BASE)
    rc, out = check(tmp_path)  # ./rules.yaml
    assert rc == 0 and out == [out[0]] and out[0].startswith("rules.yaml: valid: 1 rule ")
    sub = tmp_path / "conf"
    sub.mkdir()
    shutil.copy(tmp_path / "rules.yaml", sub / "policy.yaml")
    shutil.copy(tmp_path / "bad.sha256", sub / "bad.sha256")
    rc, out = check(tmp_path, env={"MODBOT_RULES": "conf/policy.yaml"})
    assert rc == 0 and out[0].startswith("conf/policy.yaml: valid:")
    rc, out = check(tmp_path, "--rules", "conf/policy.yaml", env={"MODBOT_RULES": "nope.yaml"})
    assert rc == 0 and out[0].startswith("conf/policy.yaml: valid:")


def test_missing_file(tmp_path: Path):
    rc, out = check(tmp_path, "nope.yaml")
    assert rc == 1
    assert (
        out[0] == "nope.yaml:1: no such file (give the rules file as --rules FILE or MODBOT_RULES)"
    )


def test_unknown_keys_with_suggestions(tmp_path: Path, listed: Path):
    out = problems(
        tmp_path,
        """
        hash_list:
          bad: {kind: sha256, file: bad.sha256}
        rules:
          - name: known bad
            priorty: 10
            if: {hash_list: bad}
            then:
              remvoe: "gone"
              ban: {scope: site, duration: permanent, wipe: true}
    """,
    )
    assert out[0] == ("rules.yaml:1: unknown key 'hash_list' (did you mean 'hash_lists'?)")
    assert out[1] == (
        "rules.yaml:5: unknown key 'priorty' in rule 'known bad' (did you mean 'priority'?)"
    )
    # The rule refers to a list whose section was misspelt: reported too, in line order.
    assert out[2] == "rules.yaml:6: unknown hash list 'bad'; defined in hash_lists: none"
    assert out[3] == (
        "rules.yaml:8: unknown key 'remvoe' in rule 'known bad': then (did you mean 'remove'?)"
    )
    assert out[4].startswith(
        "rules.yaml:9: unknown key 'wipe' in rule 'known bad': then.ban; "
        "allowed here: scope, duration, remove_data, reason"
    )
    assert len(out) == 5, out


def test_wrong_types(tmp_path: Path, listed: Path):
    out = problems(
        tmp_path,
        """
        classifier:
          batch_size: lots
        fetch:
          allow_hosts: {a: b}
        hash_lists:
          bad: {kind: sha256, file: bad.sha256}
        rules:
          - name: known bad
            priority: high
            if: {hash_list: bad}
            then:
              purge_image: "yes please"
              remove: 12
    """,
    )
    assert out == [
        "rules.yaml:2: classifier.batch_size: expected a whole number, got 'lots'",
        "rules.yaml:4: fetch.allow_hosts: expected a list, got a mapping",
        "rules.yaml:9: rule 'known bad': priority: expected a whole number, got 'high'",
        "rules.yaml:12: rule 'known bad': then.purge_image: expected true or false, got 'yes please'",
        "rules.yaml:13: rule 'known bad': then.remove: expected a reason in quotes "
        "(or true for the default), got 12",
    ]


def test_unknown_label_concept_and_score(tmp_path: Path):
    out = problems(
        tmp_path,
        """
        concepts:
          gore: {prompts: ["gore"], threshold: 0.23}
          nsfw: {prompts: ["porn"], threshold: 0.2}
        rules:
          - name: flagged
            if:
              labels: [csma, gore, weapons]
              scores: {nsfww: "> 0.01", gore: "> 0"}
            then: {report: "flagged"}
          - name: broken
            if: {labels: unreadable}
            then: {report: "broken"}
    """,
    )
    assert out[0] == (
        "rules.yaml:3: concept 'nsfw' has the name of a built-in label or score; "
        "choose another name"
    )
    assert out[1].startswith(
        "rules.yaml:7: unknown label 'csma' (did you mean 'csam'?); "
        "labels are anime, csam, gore, nsfw, underage"
    )
    assert out[2].startswith("rules.yaml:7: unknown label 'weapons'; labels are")
    assert "(custom ones come from concepts:)" in out[2]
    assert out[3].startswith(
        "rules.yaml:8: unknown score 'nsfww' (did you mean 'nsfw'?); "
        "scores are anime, csam, gore, nsfw, subject, underage"
    )
    assert out[4].startswith(
        "rules.yaml:11: unknown label 'unreadable' (unreadable is a "
        "condition of its own: `unreadable: true`)"
    )
    assert len(out) == 5, out


def test_labels_on_separate_lines_point_at_the_label(tmp_path: Path):
    out = problems(
        tmp_path,
        """
        rules:
          - name: flagged
            if:
              labels:
                - csam
                - nswf
            then: {report: "flagged"}
    """,
    )
    assert out == [
        "rules.yaml:6: unknown label 'nswf' (did you mean 'nsfw'?); labels are "
        "anime, csam, nsfw, underage (custom ones come from concepts:)"
    ]


def test_hash_lists_unknown_missing_and_malformed(tmp_path: Path):
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "bad.sha256").write_text(
        f"# known bad\n{SHA}\n\n{SHA.upper()}  # a note\nnot-a-hash\n{SHA} {SHA}\n"
        "b15fe6465121175e\n"
    )
    out = problems(
        tmp_path,
        """
        hash_lists:
          bad: {kind: sha256, file: lists/bad.sha256, max_distance: 3}
          similar: {kind: phash, file: lists/similar.phash}
          weird: {kind: crc32, file: lists/bad.sha256}
        exempt:
          hash_lists: [inocent]
        rules:
          - name: known bad
            if: {hash_list: [bad, badd]}
            then: {remove: "known bad"}
    """,
    )
    assert out[0] == (
        "rules.yaml:2: hash list 'bad': max_distance applies only to kind: "
        "phash or pdq (a SHA-256 matches exactly or not at all)"
    )
    assert out[1] == (
        "rules.yaml:3: hash list 'similar': no such file 'lists/similar.phash' "
        "(a relative path is relative to the rules file)"
    )
    assert out[2] == (
        "rules.yaml:4: hash_lists.weird.kind: unknown hash-list kind 'crc32'; "
        "use one of: sha256, md5, sha1, phash, pdq"
    )
    assert out[3] == (
        "rules.yaml:6: unknown hash list 'inocent'; defined in hash_lists: bad, similar, weird"
    )
    assert out[4] == (
        "rules.yaml:9: unknown hash list 'badd' (did you mean 'bad'?); defined "
        "in hash_lists: bad, similar, weird"
    )
    # The list file's own lines, named as a path next to the rules file.
    hash_file = os.path.join("lists", "bad.sha256")
    assert out[5] == f"{hash_file}:5: expected a SHA-256 (64 hex digits), got 'not-a-hash'"
    assert out[6].startswith(f"{hash_file}:6: one hash a line: ")
    assert out[7] == (
        f"{hash_file}:7: expected a SHA-256 (64 hex digits), got "
        "'b15fe6465121175e' (this looks like a 64-bit pHash: put it in a list "
        "of kind phash)"
    )
    assert len(out) == 8, out


def test_bad_durations_sizes_and_comparisons(tmp_path: Path, listed: Path):
    out = problems(
        tmp_path,
        """
        fetch: {max_bytes: 25 megs, connect_timeout: 5}
        lemmy:
          lookback: 6 hours
          timeout: soon
        schedule: {poll_every: 0s, sweep_since: 30 parsecs}
        hash_lists:
          bad: {kind: sha256, file: bad.sha256}
        rules:
          - name: known bad
            if:
              hash_list: bad
              author: {account_age: "3d"}
              scores: {nsfw: "above 0.02"}
            then:
              ban: {duration: forever}
    """,
    )
    assert out == [
        "rules.yaml:1: fetch.max_bytes: expected a size like 25MB, 512KB or 1GiB (or a number "
        "of bytes), got '25 megs'",
        "rules.yaml:1: fetch.connect_timeout: 5 has no unit: write 5s, 5m, 5h or 5d",
        "rules.yaml:4: lemmy.timeout: expected a duration like 30s, 5m, 6h, 3d, 2w or 1h30m, "
        "got 'soon'",
        "rules.yaml:5: schedule.poll_every: a duration must be longer than zero, got '0s'",
        "rules.yaml:5: schedule.sweep_since: unknown time unit 'parsecs' in '30 parsecs': use "
        "s, m, h, d or w",
        "rules.yaml:12: rule 'known bad': if.author.account_age: expected a comparison like "
        "'< 3d' (one of >, >=, <, <= then a value), got '3d'",
        "rules.yaml:13: rule 'known bad': if.scores.nsfw: expected a comparison like '> 0.02' "
        "(one of >, >=, <, <= then a value), got 'above 0.02'",
        "rules.yaml:15: rule 'known bad': then.ban.duration: expected a duration like 30s, 5m, "
        "6h, 3d, 2w or 1h30m, got 'forever', or permanent",
    ]


def test_unknown_placeholders(tmp_path: Path, listed: Path):
    out = problems(
        tmp_path,
        """
        hash_lists:
          bad: {kind: sha256, file: bad.sha256}
        rules:
          - name: known bad
            if: {hash_list: bad}
            then:
              remove: "posted by {{autor}} ({{scores.nsfw}})"
              ban:
                duration: 7d
                reason: "{{scores.gore}} {{rule}}"
              notify_admins: "{{ permalink }} {{link}}"
    """,
    )
    assert out[0].startswith(
        "rules.yaml:7: unknown placeholder {{autor}} (did you mean "
        "{{author}}?); known: {{author}}, {{permalink}}"
    )
    assert out[1].startswith("rules.yaml:10: unknown placeholder {{scores.gore}}")
    assert out[2].startswith(
        "rules.yaml:11: unknown placeholder {{link}} (did you mean {{permalink}}?);"
    )
    assert len(out) == 3, out


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "rules:\n  - name: x\n    if: {type: any\n    then: {report: x}\n",
            "rules.yaml:4: YAML syntax error:",
        ),
        (
            "rules:\n  - name: x\n\tif: {type: any}\n",
            "rules.yaml:3: YAML syntax error: found character '\\t' that cannot start any token "
            "(while scanning for the next token); indent with spaces, not tabs",
        ),
        (
            "rules:\n  - name: x\n    if: {type: any}\n    then:\n      remove: {{author}} did it\n",
            "rules.yaml:5: YAML syntax error: expected <block end>, but found '<scalar>' (while "
            'parsing a block mapping); text with {{placeholders}} must be in quotes: "..."',
        ),
        (
            "rules:\n  - name: x\n    if:\n      scores:\n        nsfw: > 0.02\n    then: {report: x}\n",
            "rules.yaml:5: YAML syntax error: expected a comment or a line break, but found '0' "
            '(while scanning a block scalar); put comparisons in quotes: "> 0.02"',
        ),
        ("", "rules.yaml:1: the file is empty: it needs at least `rules:`"),
        (
            "- name: x\n",
            "rules.yaml:1: the top level must be a mapping (classifier:, hash_lists:, "
            "rules:, ...), not a list",
        ),
    ],
)
def test_yaml_syntax_errors_have_lines(tmp_path: Path, text: str, expected: str):
    out = problems(tmp_path, text)
    assert out[0].startswith(expected), out
    assert len(out) == 1


def test_structure_mistakes(tmp_path: Path):
    out = problems(
        tmp_path,
        """
        schedule:
          poll_every: 30s
          poll_every: 60s
          sweep_cron: "0 4 * *"
        rules:
          - name: first
            if: {type: pots}
            then: {report: "x"}
          - name: first
            if: {found_in: [thumbnail, url]}
            then: {report: "y"}
          - name: no action
            if: {scope: everywhere}
            then: {}
          - name: no condition
            if: {}
            then: {report: "z"}
          - name: no then
            if: {type: any}
          - if: {type: any}
            then: {report: "nameless"}
    """,
    )
    assert out == [
        "rules.yaml:3: duplicate key 'poll_every' (first at line 2)",
        "rules.yaml:4: schedule.sweep_cron: expected a cron line of 5 fields (minute hour day "
        "month weekday), like '0 4 * * *', got '0 4 * *'",
        "rules.yaml:7: rule 'first': if.type.0: unknown item type 'pots' (did you mean "
        "'post'?); use one of: post, comment, upload, file, avatar, banner, community_icon, "
        "community_banner, site_icon, site_banner, bio, community_description, site_sidebar, "
        "any, incoming",
        "rules.yaml:9: duplicate rule name 'first' (first at line 6): names must be unique, "
        "they appear in the audit log",
        "rules.yaml:10: rule 'first': if.found_in.1: unknown image location 'url'; use one of: "
        "post_url, thumbnail, body, comment, upload, store, profile",
        "rules.yaml:13: rule 'no action': if.scope: unknown scope 'everywhere'; use one of: "
        "local, federated, all",
        "rules.yaml:14: rule 'no action': then: `then` has no action: use remove, purge_item, "
        "purge_image, delete_image, ban, report, notify_admins or reject",
        "rules.yaml:16: rule 'no condition': if: `if` has no condition: a rule needs at least "
        "one (use `type: any` to match every image on purpose)",
        "rules.yaml:18: rule 'no then': missing 'then'",
        "rules.yaml:20: rule #6: missing 'name'",
    ]


def test_classifier_only_ban_is_a_warning_not_an_error(tmp_path: Path):
    write(
        tmp_path,
        """
        rules:
          - name: ban on csam
            if: {labels: [csam]}
            then:
              remove: true
              ban: {duration: 30d}
    """,
    )
    rc, out = check(tmp_path, "rules.yaml")
    assert rc == 0, out
    assert out[0] == (
        "rules.yaml:6: warning: rule 'ban on csam' bans on the classifier alone; "
        "it has false positives (see docs/rules.md), consider a report or "
        "removal first"
    )
    assert out[1].startswith("rules.yaml: valid: 1 rule (1 removal, 0 report/notify)")


def test_help_is_the_manual():
    out = subprocess.run(
        [sys.executable, "-m", "modbot", "check-rules", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "FILE:LINE: message" in out and "MODBOT_RULES" in out and "docs/rules.md" in out


def test_empty_conditions_are_mistakes_not_wildcards(tmp_path: Path):
    out = problems(
        tmp_path,
        """
        rules:
          - name: a
            if: {labels: [], community: {}, scores: {}}
            then: {report: true}
          - name: b
            if:
              author: {}
              type: []
            then: {remove: true}
    """,
    )
    assert out == [
        "rules.yaml:3: rule 'a': if.labels: is empty: list at least one, or leave the condition out",
        "rules.yaml:3: rule 'a': if.scores: is empty: list at least one, or leave the condition out",
        "rules.yaml:3: rule 'a': if.community: give at least one of: name, nsfw, local",
        "rules.yaml:7: rule 'b': if.author: give at least one of: local, bot_account, "
        "account_age, moderator",
        "rules.yaml:8: rule 'b': if.type: is empty: list at least one, or leave the condition out",
    ]


def test_rules_that_can_never_act_are_warned_about(tmp_path: Path):
    write(
        tmp_path,
        """
        rules:
          - name: comment thumbnails
            if: {type: comment, found_in: thumbnail}
            then: {report: "x"}
          - name: unreadable nsfw
            if: {unreadable: true, labels: nsfw}
            then: {report: "x"}
          - name: uploads in pics
            if: {type: upload, community: {name: pics}}
            then: {remove: true}
          - name: report uploads
            if: {found_in: upload, labels: nsfw}
            then: {report: "x"}
          - name: mods
            moderators_exempt: true
            if: {author: {moderator: true}, labels: nsfw}
            then: {report: "x"}
          - name: fine
            if: {type: [comment, upload], found_in: [comment, upload], labels: nsfw}
            then: {notify_admins: "x"}
    """,
    )
    rc, out = check(tmp_path, "rules.yaml")
    assert rc == 0, out
    # 'report uploads' acts: Lemmy has no report for an upload, the admins get a message
    assert out[:-1] == [
        "rules.yaml:3: warning: rule 'comment thumbnails' can never act: no comment has "
        "images in thumbnail",
        "rules.yaml:6: warning: rule 'unreadable nsfw' can never act: an unreadable image has "
        "no labels or scores",
        "rules.yaml:9: warning: rule 'uploads in pics' can never act: an upload has no community",
        "rules.yaml:16: warning: rule 'mods' can never act: it is about moderators but exempts "
        "them (moderators_exempt: true)",
    ]


def test_a_duration_too_long_is_a_mistake_with_its_line(tmp_path: Path, listed: Path):
    # Python's timedelta ends at 999999999 days: past it, a line to fix, not a traceback.
    out = problems(
        tmp_path,
        """
        hash_lists:
          bad: {kind: sha256, file: bad.sha256}
        rules:
          - name: known bad
            if:
              hash_list: bad
              author: {account_age: "< 99999999999w"}
            then:
              ban: {duration: 99999999999w}
    """,
    )
    assert out == [
        "rules.yaml:7: rule 'known bad': if.author.account_age: '99999999999w' is too long: "
        "a duration is at most 999999999 days",
        "rules.yaml:9: rule 'known bad': then.ban.duration: '99999999999w' is too long: "
        "a duration is at most 999999999 days, or permanent",
    ]


def test_a_ban_shorter_than_a_second_is_a_mistake(tmp_path: Path, listed: Path):
    # Lemmy's ban ends on a whole second: `0.5s` was sent as no end at all (permanent).
    out = problems(
        tmp_path,
        """
        hash_lists:
          bad: {kind: sha256, file: bad.sha256}
        rules:
          - name: known bad
            if: {hash_list: bad}
            then:
              ban: {duration: 0.5s}
    """,
    )
    assert out == [
        "rules.yaml:7: rule 'known bad': then.ban.duration: a ban must last at least 1s "
        "(or be permanent), got '0.5s'",
    ]


def test_a_score_threshold_must_be_a_finite_number(tmp_path: Path):
    # float() reads nan and inf: a rule "> nan" would never fire, "< inf" always
    out = problems(
        tmp_path,
        """
        rules:
          - name: never
            if: {scores: {nsfw: "> nan"}}
            then: {report: true}
          - name: always
            if: {scores: {nsfw: "< inf", csam: ">= -Infinity"}}
            then: {report: true}
    """,
    )
    assert out == [
        "rules.yaml:3: rule 'never': if.scores.nsfw: 'nan' in '> nan' is not a number "
        "(a score is compared with a number like 0.02)",
        "rules.yaml:6: rule 'always': if.scores.nsfw: 'inf' in '< inf' is not a number "
        "(a score is compared with a number like 0.02)",
        "rules.yaml:6: rule 'always': if.scores.csam: '-Infinity' in '>= -Infinity' is not a "
        "number (a score is compared with a number like 0.02)",
    ]


def test_a_quoted_false_as_a_reason_is_warned_about(tmp_path: Path):
    # "false" in quotes is text: the reason, so the rule removes (reports, notifies)
    write(
        tmp_path,
        """
        rules:
          - name: nsfw
            if: {labels: [nsfw]}
            then: {remove: "false", report: "No"}
          - name: csam
            if: {labels: [csam]}
            then:
              report: true
              notify_admins: " off "
    """,
    )
    rc, out = check(tmp_path, "rules.yaml")
    assert rc == 0, out
    assert out[:-1] == [
        "rules.yaml:4: warning: rule 'nsfw': then.remove: 'false' in quotes is the removal "
        "reason, so the rule removes; to not remove, leave remove out",
        "rules.yaml:4: warning: rule 'nsfw': then.report: 'No' in quotes is the report "
        "reason, so the rule reports; to not report, leave report out",
        "rules.yaml:9: warning: rule 'csam': then.notify_admins: ' off ' in quotes is the "
        "message, so the rule notifies the admins; to not notify them, leave notify_admins out",
    ]
    assert out[-1].startswith("rules.yaml: valid: 2 rules (1 removal, 1 report/notify)")
