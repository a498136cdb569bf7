"""A decoding process that died (kill -9, the OOM killer) is replaced; where the new one
cannot be started (the process limit, memory: fork fails), the image is skipped as not
its fault, and the pool starts its process again once it can, rather than shrinking
until every decode waits forever."""

import errno
import io
import os
import signal
import sys
import threading
import time

from PIL import Image

from classifier.decode_processes import DecoderUnavailable, ProcessDecoder
from classifier.preprocess import PreprocessConfig

CFG = PreprocessConfig(size=64)


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


class ForkFails(ProcessDecoder):
    """Starting a process fails (EAGAIN, as fork does at the process limit) while
    ``failing`` is set."""

    failing = False

    def _command(self, pixels_fd):
        if self.failing:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
        return super()._command(pixels_fd)


def _decode_in_thread(decoder: ProcessDecoder, data: bytes, timeout: float = 20) -> object:
    """The decode's result or exception; fails the test if it waits forever."""
    out: list[object] = []

    def run() -> None:
        try:
            out.append(decoder.decode(data, CFG))
        except Exception as exc:
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert out, "the decode waited forever for a decoding process"
    return out[0]


def test_a_process_that_cannot_be_started_again_skips_the_image_and_is_started_later():
    data = _photo()
    with ForkFails(1) as decoder:
        assert decoder.decode(data, CFG).regions  # the process is up
        os.kill(decoder.pids()[0], signal.SIGKILL)
        time.sleep(0.3)
        decoder.failing = True
        # the image is not unreadable: it was never decoded; the engine skips it
        # (classifier_error, tried again later) on DecoderUnavailable
        result = _decode_in_thread(decoder, data)
        assert isinstance(result, DecoderUnavailable), result
        assert "Resource temporarily unavailable" in str(result)
        # while it cannot start one, the next image says so too, at once
        assert isinstance(_decode_in_thread(decoder, data), DecoderUnavailable)
        decoder.failing = False
        # the machine recovers: a process is started again, images are decoded
        result = _decode_in_thread(decoder, data)
        assert not isinstance(result, Exception), result
        assert len(decoder.pids()) == 1


class CrashesOnce(ProcessDecoder):
    """Its processes die on the first image sent while ``flag`` exists, removing it: a
    crash the retry in a new process does not meet (memory short for a moment)."""

    def __init__(self, flag, *args, **kwargs):
        self.flag = flag
        super().__init__(*args, **kwargs)

    def _command(self, pixels_fd):
        code = (
            "import os\n"
            "from classifier.decode_processes import _decode, serve\n"
            "def work(data, *rest):\n"
            f"    if len(data) > 100 and os.path.exists({str(self.flag)!r}):\n"
            f"        os.unlink({str(self.flag)!r})\n"
            "        os._exit(9)\n"
            "    return _decode(data, *rest)\n"
            f"serve(work, {pixels_fd})\n"
        )
        return [sys.executable, "-c", code]


def test_a_process_dead_before_the_image_was_sent_costs_the_image_no_try(tmp_path):
    """A process killed while idle (kill -9, the OOM killer) is found dead when taken:
    replaced before the image goes to it, so the image keeps both of its tries."""
    data = _photo()
    flag = tmp_path / "crash-once"
    with CrashesOnce(flag, 1) as decoder:
        assert decoder.decode(data, CFG).regions
        os.kill(decoder.pids()[0], signal.SIGKILL)
        time.sleep(0.3)
        flag.touch()
        result = _decode_in_thread(decoder, data)
        assert not isinstance(result, Exception), result  # not "died ... twice"
        assert not flag.exists()  # it did crash once
