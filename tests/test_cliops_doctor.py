"""`modbot doctor`'s command line: a timeout that no socket takes is a usage error, not
a traceback or a misleading connection failure."""

from __future__ import annotations

import pytest

from modbot.cli import main


@pytest.mark.parametrize("value", ["-1", "0", "nan", "soon"])
def test_a_timeout_no_socket_takes_is_a_usage_error(value, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["doctor", "--timeout", value])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--timeout" in err and "seconds each network step may take" in err
