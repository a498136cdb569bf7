"""A decoding process is a `python -c`, which puts the working directory first on its
import path: run from a folder holding a `classifier` package (an old checkout of
modbot, say) or a module named like one of its imports, the processes imported that
instead of the installed modbot (another version's code decoding, or none at all) while
modbot itself did not. They now import what modbot imports (`-P`: no working directory
on the path)."""

import io
import textwrap

from PIL import Image

from classifier.decode_processes import ProcessDecoder
from classifier.preprocess import PreprocessConfig


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def test_the_working_directory_does_not_replace_modbots_code(tmp_path, monkeypatch):
    other = tmp_path / "classifier"
    other.mkdir()
    (other / "__init__.py").write_text("")
    (other / "decode_processes.py").write_text(
        textwrap.dedent(
            """
            import sys
            def main(argv):
                print("an old checkout's decoder", file=sys.stderr)
                sys.exit(3)
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    with ProcessDecoder(1) as decoder:
        assert decoder.decode(_photo(), PreprocessConfig(size=64)).regions
