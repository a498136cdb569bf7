"""Run first by every Python the tests start (conftest puts this folder first on their
PYTHONPATH), so that the bots and workers see what a production install has.

The test extra installs transformers (horde-safety, the reference's oracle, needs it);
a production install does not. open_clip imports it whenever it is there, which cost
each child that loads a model about a second: ~1 s of ~5.5 s per `modbot sweep` in a
test. Marking it absent makes open_clip take the path it takes in production.
"""

import sys

sys.modules.setdefault("transformers", None)  # `import transformers` raises ImportError
