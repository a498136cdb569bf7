"""`modbot doctor` says a remote worker takes smaller images than the bot sends it
(its --max-bytes under fetch.max_bytes): every image between the two would be skipped
as classifier_error. Before, the start's log said it (db0e88e) and doctor said "ok"."""

from __future__ import annotations

from support.policies import write_rules
from support.worker import TOKEN
from test_doctor_model import doctor, with_classifier  # noqa: F401 (a fixture)


def test_doctor_warns_of_a_worker_under_fetch_max_bytes(
    fake_lemmy,
    tiny,
    worker,
    tmp_path,
    doctor,  # noqa: F811
    monkeypatch,
):
    monkeypatch.setenv("MODBOT_CLASSIFIER_TOKEN", TOKEN)
    rules = with_classifier(
        write_rules(tmp_path, fake_lemmy, tiny),
        f'\n  allow_random_weights: true\n  remote: {{urls: ["{worker.url}"]}}',
    )
    # the test worker takes 40 MiB (its default, pict-rs' own)
    text = rules.read_text()
    assert "fetch: {allow_hosts: [" in text
    rules.write_text(
        text.replace("fetch: {allow_hosts: [", "fetch: {max_bytes: 50MB, allow_hosts: [")
    )
    status, line, out = doctor(rules)
    assert status == 0, out
    assert line.startswith("warn"), line
    assert f"classifier worker {worker.url} takes images of at most 41,943,040 bytes" in line
    assert "50,000,000 bytes of fetch.max_bytes" in line and "--max-bytes 50000000" in line
