"""The pipeline hands the acquirer its login at each session check (every few minutes);
7c42a25 made each hand-over give the fetcher a new InstanceLogin, which forgot which
hosts had asked for the login and which token they let in: the next image of a private
instance paid another 401, and a token dropped before one was let in again was never
replaced (found reading the whole change). The login is handed over once."""

from __future__ import annotations

from modbot.acquire import Acquirer


def test_the_login_is_handed_to_the_acquirer_once(tmp_path):
    acquirer = Acquirer.__new__(Acquirer)
    acquirer._login = None
    acquirer._loop_thread = None
    first = (lambda: "token-1", lambda dropped: None)
    acquirer.use_login(*first)
    acquirer.use_login(lambda: "token-2", lambda dropped: None)
    assert acquirer._login == first
