"""The source reads bios and descriptions against the site's own address, not
LEMMY_URL (an internal name in Docker): its image proxy is this instance's."""

from __future__ import annotations

from support.session_client import SessionClient, shipped_pipeline


def test_the_source_takes_the_sites_own_address_at_start(tmp_path):
    client = SessionClient("http://lemmy:8536", public_url="https://lemmy.example")
    with shipped_pipeline(tmp_path, client, dry_run=True) as pipeline:
        assert pipeline.source.public_url == "http://lemmy:8536"  # until the site says
        pipeline.start()
        assert pipeline.source.public_url == "https://lemmy.example"
        assert pipeline.acquirer.public_url == "https://lemmy.example"
