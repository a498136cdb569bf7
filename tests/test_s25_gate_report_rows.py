"""The HTML report's gate rows say what a dry-run gate would have answered (it stored
the file) and which hash kinds it could not take: before, a dry-run refusal read
"rejected (200)" and a kind not taken was not shown."""

from modbot.modes.report_html import gate_row_html


def row(**gate) -> dict:
    return {
        "decided_at": "2026-12-04T10:00:00Z",
        "rule": "known abusive file at the door",
        "labels": [],
        "actions": [{"kind": "reject", "status": "planned", "detail": "on known-bad"}],
        "image": {
            "sha256": "ab" * 32,
            "hashes_not_taken": {"pdq": "its quality (12) is below what Meta's reference keeps"},
        },
        "gate": {"outcome": "rejected", "size": 1234, "media_type": "image/jpeg", **gate},
    }


def test_a_dry_run_gate_row_says_it_stored_the_file_and_what_it_would_have_answered():
    html = gate_row_html(row(status=200, would_answer=406))
    assert "dry run: stored (200), would have answered 406" in html
    assert "rejected (200)" not in html


def test_a_live_gate_row_and_the_hash_kinds_not_taken():
    html = gate_row_html(row(status=406))
    assert "rejected (406)" in html
    assert "hashes not taken: pdq: its quality (12) is below" in html
