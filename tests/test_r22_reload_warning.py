"""The rules file read again (SIGHUP) on a non-admin account: the warning naming the
rules Lemmy will refuse is said again, once, by ``Pipeline.reload`` itself, so no caller
of it can forget it."""

from __future__ import annotations

import dataclasses

from support.session_client import SessionClient, shipped_pipeline

from modbot.modes.daemon import Daemon


def test_pipeline_reload_names_the_rules_a_non_admin_cannot_carry_out(tmp_path):
    with shipped_pipeline(tmp_path, SessionClient(), dry_run=False) as pipeline:
        pipeline.start()
        assert len(pipeline.warnings) == 1
        assert pipeline.reload(pipeline.policy) is None
        assert len(pipeline.warnings) == 2, pipeline.warnings
        assert "will fail: 'known abusive image' (site ban)" in pipeline.warnings[1]
        # rules that ask nothing an admin alone may: nothing more to say
        assert pipeline.reload(dataclasses.replace(pipeline.policy, rules=[])) is None
        assert len(pipeline.warnings) == 2, pipeline.warnings


def test_a_daemon_reload_warns_once(tmp_path):
    with shipped_pipeline(tmp_path, SessionClient(), dry_run=False) as pipeline:
        pipeline.start()
        daemon = Daemon(pipeline, pipeline.policy)
        assert daemon.reload()
        not_admin = [w for w in pipeline.warnings if "is not an admin" in w]
        assert len(not_admin) == 2, pipeline.warnings
