"""A weights file that is damaged or not a checkpoint stops the load with a ModelError
that says what to do, never a raw unpickling traceback (or torch's advice to load it
with ``weights_only=False``)."""

from __future__ import annotations

import os

import pytest

from classifier import model as model_module
from classifier.model import ModelError, ModelSpec, load_model
from classifier.tiny import tiny_spec


@pytest.mark.parametrize(
    "name,content",
    [
        ("garbage.bin", b"\x80\x04garbage" * 10),  # UnpicklingError
        ("page.bin", b"<html><body>Not found</body></html>"),  # a proxy's page saved as weights
        ("empty.pt", b""),  # EOFError
        ("text.pt", b"hello world" * 10),  # KeyError from torch's legacy loader
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_damaged_checkpoint_file_is_a_model_error_saying_what_to_do(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ModelError) as caught:
        load_model(tiny_spec(path))
    message = str(caught.value)
    assert str(path) in message and "download it again" in message, message
    assert "weights_only" not in message, message


def test_a_truncated_safetensors_checkpoint_says_what_to_do(tmp_path, tiny_checkpoint):
    path = tmp_path / "cut.safetensors"
    data = tiny_checkpoint.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="download it again"):
        load_model(tiny_spec(path))


def test_a_damaged_file_in_the_hugging_face_cache_is_named_to_delete(tmp_path, monkeypatch):
    # the cache's layout (huggingface_hub): models--org--repo/{refs/main,snapshots/<rev>/}
    repo = tmp_path / "models--modbot-test--tiny"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    # as the hub lays it out: the snapshot's entry is a link to the file in blobs/
    (repo / "blobs").mkdir()
    blob = repo / "blobs" / ("1" * 64)
    blob.write_bytes(b"\x80\x04cut short")
    damaged = snapshot / "open_clip_pytorch_model.bin"
    damaged.symlink_to(os.path.relpath(blob, snapshot))
    monkeypatch.setattr(model_module, "_tag_config", lambda spec: {"hf_hub": "modbot-test/tiny/"})
    spec = ModelSpec(
        name="modbot-tiny", pretrained="test", device="cpu", hf_cache_dir=str(tmp_path)
    )
    with pytest.raises(ModelError) as caught:
        load_model(spec)
    message = str(caught.value)
    assert f"delete {damaged} and the file it links to, {blob}," in message, message
    assert "Hugging Face cache" in message


def test_the_same_weights_have_one_fingerprint_in_the_cache_or_copied(tmp_path, tiny_checkpoint):
    """The concept version names the exact weights: a worker loading them from the
    Hugging Face cache and one loading a copy of the file agree (they were told they
    disagreed, and every cached verdict was recomputed after moving the file)."""
    import hashlib
    import os

    from safetensors.torch import load_file, save_file

    from classifier.model import describe_model

    real = tmp_path / "copy" / "open_clip_model.safetensors"  # weights not marked as random
    real.parent.mkdir()
    save_file(load_file(str(tiny_checkpoint)), str(real), metadata={"format": "pt"})
    sha = hashlib.sha256(real.read_bytes()).hexdigest()
    repo = tmp_path / "hf" / "models--org--tiny"
    (repo / "blobs").mkdir(parents=True)
    (repo / "blobs" / sha).write_bytes(real.read_bytes())
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    os.symlink(repo / "blobs" / sha, snapshot / "open_clip_model.safetensors")

    def fingerprint(checkpoint):
        spec = ModelSpec(name="modbot-tiny", pretrained=None, checkpoint=checkpoint, device="cpu")
        return describe_model(spec).fingerprint

    cached = fingerprint(snapshot / "open_clip_model.safetensors")
    assert cached == f"modbot-tiny/open_clip_model.safetensors@{sha}"
    assert fingerprint(real) == cached


@pytest.mark.parametrize("filename", ["weights.pt", "open_clip_pytorch_model.bin"])
def test_a_model_directory_loads_the_weights_file_it_names(tmp_path, filename):
    """A directory with open_clip_config.json: the file modbot names (identity,
    fingerprint, random-weights check) is the one loaded. open_clip's own search never
    takes a .pt, and the model stayed randomly initialised while verdicts said
    "modbot-tiny/weights.pt", real weights."""
    import json

    import torch
    from safetensors.torch import load_file

    from classifier.model import MODEL_CONFIG_DIR
    from classifier.tiny import write_random_checkpoint

    # seed 7: not the seed-0 initialisation a model gets when no weights are loaded
    source = write_random_checkpoint(tmp_path / "seed7.safetensors", seed=7)
    tensors = load_file(str(source))
    wanted = load_model(tiny_spec(source))
    directory = tmp_path / "model"
    directory.mkdir()
    config = json.loads((MODEL_CONFIG_DIR / "modbot-tiny.json").read_text())
    (directory / "open_clip_config.json").write_text(json.dumps({"model_cfg": config}))
    torch.save(tensors, directory / filename)  # the same tensors, not marked as random

    loaded = load_model(
        ModelSpec(name="modbot-tiny", pretrained=None, checkpoint=directory, device="cpu")
    )
    assert loaded.identity == f"modbot-tiny/{filename}" and not loaded.random_weights
    state = loaded.model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in tensors.items()), "other weights loaded"
    tokens = wanted.tokenizer(["a photo of a cat"])
    with torch.inference_mode():
        assert torch.allclose(
            loaded.model.encode_text(tokens), wanted.model.encode_text(tokens), atol=1e-6
        )


def test_a_model_directory_s_configuration_is_part_of_its_fingerprint(tmp_path, tiny_checkpoint):
    """The same weights under another open_clip_config.json (QuickGELU off, other mean
    and std) embed differently: their text-embedding cache and cached verdicts are not
    the first configuration's."""
    import json
    import shutil

    from classifier.model import MODEL_CONFIG_DIR, describe_model

    config = json.loads((MODEL_CONFIG_DIR / "modbot-tiny.json").read_text())
    directory = tmp_path / "model"
    directory.mkdir()
    shutil.copy(tiny_checkpoint, directory / "open_clip_model.safetensors")
    spec = ModelSpec(
        name="modbot-tiny",
        pretrained=None,
        checkpoint=directory,
        device="cpu",
        allow_random_weights=True,
    )
    fingerprints = []
    for quick_gelu in (True, False):
        body = {"model_cfg": {**config, "quick_gelu": quick_gelu}}
        (directory / "open_clip_config.json").write_text(json.dumps(body))
        fingerprints.append(describe_model(spec).fingerprint)
        assert load_model(spec).fingerprint == fingerprints[-1]
    assert fingerprints[0] != fingerprints[1]
