"""Make ``import open_clip`` work where torchvision's compiled ops cannot load.

open_clip imports torchvision, and torchvision registers "fake" (meta) kernels for its
``nms`` and ``qnms`` operators at import time. That registration needs the operator
schemas, which normally come from torchvision's compiled ``_C`` library. When that
library does not load (a CUDA build of torchvision beside a CPU build of torch, as on
CPU-only machines with torchvision 0.28.0), the import dies with
``RuntimeError: operator torchvision::nms does not exist``.

modbot never calls those operators, so defining the two schemas (without kernels) is
enough for the import to succeed. Where ``_C`` loads, this function does nothing.
"""

from __future__ import annotations

import glob
import importlib.util
import logging
import os
from typing import Any

log = logging.getLogger(__name__)

_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor qdets, Tensor scores, float iou_threshold) -> Tensor",
)
_library = None  # kept alive: dropping a torch.library.Library removes its definitions


def ensure_torchvision_ops() -> bool:
    """Define torchvision's ``nms``/``qnms`` schemas if its compiled ops cannot load.

    Returns True when the workaround was applied, False when it was not needed.
    Must run before torchvision is first imported.
    """
    global _library
    if _library is not None:
        return True
    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None:
        return False  # no torchvision: open_clip will report that itself
    import torch

    for path in glob.glob(os.path.join(os.path.dirname(spec.origin), "_C*.so")):
        try:
            torch.ops.load_library(path)
            return False  # the real ops are there
        except OSError:
            pass
    _library = torch.library.Library("torchvision", "DEF")
    for schema in _SCHEMAS:
        _library.define(schema)
    log.debug("torchvision compiled ops unavailable; defined nms/qnms schemas so open_clip imports")
    return True


def import_open_clip() -> Any:
    """Import open_clip with the workaround above applied first."""
    ensure_torchvision_ops()
    import open_clip

    return open_clip
