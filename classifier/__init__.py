"""The CLIP safety classifier: batched verdicts (csam, underage, nsfw, anime, custom
concepts) for image bytes. Stands alone: never imports ``modbot``.

    loaded = load_model(ModelSpec(name="ViT-L-14", pretrained="openai"))
    with Engine(loaded, ConceptSet.builtin()) as engine:
        verdict = await engine.classify(data)

Importing this package does not import torch; torch and open_clip load with the first model.
"""

from classifier.concepts import ConceptError, ConceptSet, CustomConcept
from classifier.deepdanbooru import DeepDanbooruError, load_deepdanbooru
from classifier.engine import Engine, EngineClosed
from classifier.model import (
    LoadedModel,
    ModelError,
    ModelSpec,
    RandomWeightsNotAllowed,
    WeightsNotFound,
    load_model,
)
from classifier.preprocess import PreprocessConfig, Unreadable
from classifier.verdict import Verdict

__all__ = [
    "ConceptError",
    "ConceptSet",
    "CustomConcept",
    "DeepDanbooruError",
    "Engine",
    "EngineClosed",
    "LoadedModel",
    "ModelError",
    "ModelSpec",
    "PreprocessConfig",
    "RandomWeightsNotAllowed",
    "Unreadable",
    "Verdict",
    "WeightsNotFound",
    "load_deepdanbooru",
    "load_model",
]
