"""The reference's own code path (horde-safety, clip-interrogator: fedi-safety's) beside
modbot's, for the parity tests: the reference's thumbnail and similarities, its
checker with shifted thresholds, and modbot's concepts shifted the same way."""

from __future__ import annotations

import io
import json
import types
import warnings

import numpy as np
from PIL import Image

from classifier.compat import import_open_clip

open_clip = import_open_clip()

from clip_interrogator import Config, Interrogator  # noqa: E402
from horde_safety import interrogate  # noqa: E402
from horde_safety.nsfw_checker_class import NSFWChecker  # noqa: E402
from loguru import logger  # noqa: E402
from open_clip.transform import PreprocessCfg, image_transform_v2  # noqa: E402

from classifier import ConceptSet  # noqa: E402
from classifier.concepts import BUILTIN_FILE  # noqa: E402

logger.disable("horde_safety")


def encode(image: Image.Image, fmt: str = "JPEG", **kw) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kw)
    return out.getvalue()


def variants(photos: dict[str, bytes]) -> dict[str, bytes]:
    """The test photos as they are, and resized, cropped and re-encoded to odd shapes."""
    out = dict(photos)
    chelsea = Image.open(io.BytesIO(photos["chelsea"])).convert("RGB")
    astronaut = Image.open(io.BytesIO(photos["astronaut"])).convert("RGB")
    coffee = Image.open(io.BytesIO(photos["coffee"])).convert("RGB")
    out["451x300"] = encode(chelsea.resize((451, 300)))  # torchvision floors 336.9 to 336
    out["300x451"] = encode(chelsea.resize((300, 451)))
    out["1001x337-wide"] = encode(
        coffee.resize((1001, 337))
    )  # tiles on top; crop offset rounds half to even
    out["1600x1067-big"] = encode(
        astronaut.resize((1600, 1067)), quality=92
    )  # Pillow's thumbnail drafts it
    out["225x500"] = encode(astronaut.resize((225, 500)))
    out["150x100-small"] = encode(chelsea.resize((150, 100)))  # upscaled
    out["png"] = encode(coffee.resize((333, 247)), "PNG")
    rgba = coffee.resize((300, 300)).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((300, 300)))
    out["rgba-png"] = encode(
        rgba, "PNG"
    )  # the reference drops alpha; ours composites (second region)
    exif = Image.Exif()
    exif[0x0112] = 6
    out["exif-rotated"] = encode(chelsea, exif=exif)  # the reference does not rotate
    out["grey"] = encode(astronaut.convert("L").resize((400, 300)), "PNG")
    out["gif"] = encode(chelsea.resize((200, 160)).convert("P"), "GIF")
    return out


def open_clip_transform(loaded):
    return image_transform_v2(PreprocessCfg(**loaded.model.visual.preprocess_cfg), is_train=False)


def reference_interrogator(loaded) -> Interrogator:
    """clip-interrogator's Interrogator around our model, without its constructor (no
    BLIP, no download), with horde-safety's ``similarities``, as get_interrogator_no_blip
    sets them up (but bound to this instance, not patched into the classes)."""
    ci = Interrogator.__new__(Interrogator)
    ci.config = Config(
        caption_model_name=None, clip_model_name="ViT-L-14/openai", device="cpu", quiet=True
    )
    ci.device, ci.dtype = "cpu", loaded.dtype
    ci.caption_offloaded, ci.clip_offloaded = True, False
    ci.clip_model, ci.clip_preprocess, ci.tokenize = (
        loaded.model,
        open_clip_transform(loaded),
        loaded.tokenizer,
    )
    ci.similarities = types.MethodType(interrogate._similarities_hijack, ci)
    interrogate._cached_text_array_features.clear()  # keyed by texts only: another model's would be reused
    return ci


def fedi_safety_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.thumbnail((512, 512))  # fedi_safety/check.py, before check_for_nsfw
    return image


def reference_similarities(ci: Interrogator, data: bytes, prompts) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.cuda.amp.autocast on a CPU
        features = ci.image_to_features(fedi_safety_image(data))
        return np.array(ci.similarities(features, list(prompts)))


def shifted_concepts(delta: float) -> ConceptSet:
    """The built-in concepts with every threshold written in the file lowered by delta
    (offsets, modifiers, the revocation constants unchanged: as in the reference below)."""
    data = json.loads(BUILTIN_FILE.read_text(encoding="utf-8"))
    for family in data["families"].values():
        for entry in family:
            entry["threshold"] = entry["threshold"] - delta
    return ConceptSet.from_dict(data)


def shifted_reference(ci: Interrogator, delta: float) -> NSFWChecker:
    checker = NSFWChecker(ci, None)
    checker.predicate_default_threshold -= delta
    for table in (
        checker.human_predicates_isolated,
        checker.underage_predicates,
        checker.nsfw_predicates,
        checker.anime_cartoon_predicates,
        checker.nsfw_isolated_concepts,
        checker.nsfw_concept_parts,
        checker.nsfw_synth_concepts,
        checker.nsfw_post_anime_concepts,
    ):
        for key in table:
            table[key] = table[key] - delta
    for (
        key,
        modifier,
    ) in checker.underage_danger_modifiers.items():  # as _set_default_predicates sums them
        checker.underage_danger_concepts[key] = modifier + checker.underage_predicates[key]
    checker.refresh()
    return checker
