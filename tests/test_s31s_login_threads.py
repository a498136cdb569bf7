"""The bot's login for a private instance's image routes is taken and renewed off the
event loop's default executor, which the perceptual hashes' decodes run on: a login
that blocks (the transport's lock held through its retries) holds one thread of its
own, however many images wait for it, and a token at hand takes no thread."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from modbot.config.settings import Secret
from modbot.fetch import InstanceLogin

URL = "https://lemmy.example/pictrs/image/x.png"


def test_images_waiting_for_a_login_leave_the_default_executor_to_the_hashes():
    release = threading.Event()
    first, second = Secret("first"), Secret("second")
    calls: list[str] = []
    holding: set[str] = set()

    def token() -> Secret:  # the client's token, logging in as Lemmy dropped the first
        calls.append("token")
        holding.add(threading.current_thread().name)
        release.wait(10)
        return second if "relogin" in calls else first

    def relogin(dropped: Secret) -> None:
        calls.append("relogin")
        holding.add(threading.current_thread().name)
        release.wait(10)

    login = InstanceLogin(["https://lemmy.example"], token, relogin)

    async def run():
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(2, "default"))
        # many images answered 401 without the login at once, the login blocking
        waiting = [asyncio.create_task(login.after_401(URL, None)) for _ in range(6)]
        await asyncio.sleep(0.2)
        # a perceptual hash's decode gets a thread of the default executor meanwhile
        # (before: every thread parked in the login, this waited for it)
        try:
            hashed = await asyncio.wait_for(asyncio.to_thread(lambda: "hashed"), 3)
        except TimeoutError:
            hashed = "stalled"
        release.set()
        got = await asyncio.gather(*waiting)
        # the token at hand: taken without asking the client again
        at_hand = await login.before(URL)
        asked = len(calls)
        # the token let in, then dropped: one re-login for all the images refused
        login.let_in(first)
        again = await asyncio.gather(*(login.after_401(URL, first) for _ in range(4)))
        return hashed, got, (at_hand, asked), again

    hashed, got, at_hand, again = asyncio.run(run())

    assert hashed == "hashed"
    assert got == [first] * 6 and at_hand == (first, 1) and again == [second] * 4
    # one token call for the six; for the four: the client's token (still the dropped
    # one), one re-login, and the token it got
    assert calls == ["token", "token", "relogin", "token"]
    assert not any(name.startswith("default") for name in holding)
