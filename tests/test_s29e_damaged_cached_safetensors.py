"""A safetensors file cut short in the Hugging Face cache (the file open_clip publishes
first, open_clip_model.safetensors: what ViT-L-14/openai loads): the error names the
blob to delete too. Deleting the snapshot's link alone, the hub links the same damaged
blob again at the next start, and the admin is told the same thing forever."""

import os

import pytest

from classifier import model as model_module
from classifier.model import ModelError, ModelSpec, describe_model, load_model


@pytest.mark.parametrize("load", [load_model, describe_model])
def test_a_cut_safetensors_in_the_cache_names_its_blob_to_delete(
    tmp_path, monkeypatch, tiny_checkpoint, load
):
    repo = tmp_path / "models--modbot-test--tiny"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    blob = repo / "blobs" / ("1" * 64)
    data = tiny_checkpoint.read_bytes()
    blob.write_bytes(data[: len(data) // 2])  # an interrupted download
    damaged = snapshot / "open_clip_model.safetensors"
    damaged.symlink_to(os.path.relpath(blob, snapshot))
    monkeypatch.setattr(model_module, "_tag_config", lambda spec: {"hf_hub": "modbot-test/tiny/"})
    spec = ModelSpec(
        name="modbot-tiny", pretrained="test", device="cpu", hf_cache_dir=str(tmp_path)
    )
    with pytest.raises(ModelError) as caught:
        load(spec)
    message = str(caught.value)
    assert f"delete {damaged} and the file it links to, {blob}," in message, message
    assert "not a readable safetensors file" in message
