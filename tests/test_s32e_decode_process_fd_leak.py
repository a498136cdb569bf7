"""A decoding process that cannot be started (fork fails at the process limit, or for
want of memory) is tried again at each image; each try made the shared memory for its
pixels (a memfd) first and, when the start failed, never closed it: one descriptor lost
per image while the machine was at its limit, until modbot could open no socket, file or
database (EMFILE, "Too many open files"). Now a failed start closes what it opened."""

import contextlib
import errno
import io
import os
import signal
import time

from PIL import Image

from classifier.decode_processes import DecoderUnavailable, ProcessDecoder
from classifier.preprocess import PreprocessConfig

CFG = PreprocessConfig(size=64)
TRIES = 25


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


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_failed_starts_of_a_decoding_process_leave_no_descriptor_open():
    data = _photo()
    with ForkFails(1) as decoder:
        assert decoder.decode(data, CFG).regions  # the process is up
        os.kill(decoder.pids()[0], signal.SIGKILL)
        time.sleep(0.3)
        decoder.failing = True
        with contextlib.suppress(DecoderUnavailable):
            decoder.decode(data, CFG)  # finds it dead; its new one cannot start
        before = _open_descriptors()
        skipped = 0
        for _ in range(TRIES):  # each image tries to start the missing process again
            try:
                decoder.decode(data, CFG)
            except DecoderUnavailable:
                skipped += 1
        assert skipped == TRIES  # the machine is still at its limit: each image skipped
        assert _open_descriptors() - before < 3, "a descriptor lost per failed start"
        decoder.failing = False
        assert decoder.decode(data, CFG).regions  # and it recovers
