"""Loading: Meta layouts, strict key checks with clear messages, our own format round trip."""

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
import torch

from wm_control import WorldModel
from wm_control.checkpoints import CheckpointError
from wm_control.models.config import WorldModelConfig
from wm_control.models.presets import encoder_preset, predictor_preset

FIXTURE = Path(__file__).parents[1] / "fixtures" / "vjepa2_tiny_official.pt"
HEADS = dict(encoder_num_heads=4, predictor_num_heads=4, image_size=64)


def _official() -> dict:
    return torch.load(FIXTURE, map_location="cpu", weights_only=True)


def _save(tmp_path: Path, checkpoint: dict, name: str = "ckpt.pt") -> Path:
    path = tmp_path / name
    torch.save(checkpoint, path)
    return path


def test_pos_embed_is_ignored_and_prefixes_stripped(tmp_path):
    ckpt = _official()
    ckpt["target_encoder"]["module.backbone.pos_embed"] = torch.zeros(1, 16, 128)
    model = WorldModel.from_pretrained(_save(tmp_path, ckpt), **HEADS)
    reference = WorldModel.from_pretrained(FIXTURE, **HEADS)
    for (name, a), (_, b) in zip(model.state_dict().items(), reference.state_dict().items()):
        assert torch.equal(a, b), name


def test_missing_key_is_listed(tmp_path):
    ckpt = _official()
    del ckpt["target_encoder"]["module.backbone.blocks.1.mlp.fc2.bias"]
    with pytest.raises(CheckpointError, match=r"missing keys \[blocks\.1\.mlp\.fc2\.bias\]"):
        WorldModel.from_pretrained(_save(tmp_path, ckpt), **HEADS)


def test_unexpected_key_is_listed(tmp_path):
    ckpt = _official()
    ckpt["predictor"]["module.mask_tokens.0"] = torch.zeros(1, 1, 96)
    with pytest.raises(
        CheckpointError, match=r"predictor weights.*unexpected keys \[mask_tokens\.0\]"
    ):
        WorldModel.from_pretrained(_save(tmp_path, ckpt), **HEADS)


def test_misshaped_key_is_listed(tmp_path):
    ckpt = _official()
    ckpt["predictor"]["module.predictor_blocks.0.norm1.weight"] = torch.ones(95)
    with pytest.raises(
        CheckpointError,
        match=(
            r"mis-shaped keys \[predictor_blocks\.0\.norm1\.weight: expected \(96,\), "
            r"found \(95,\)\]"
        ),
    ):
        WorldModel.from_pretrained(_save(tmp_path, ckpt), **HEADS)


@pytest.mark.parametrize(
    "name, content, found",
    [
        ("notes.pt", b"not a checkpoint", "found a text file of 16 bytes starting 'not a check"),
        ("empty.pt", b"", "found an empty file"),
        ("picture.pt", b"\x89PNG\r\n\x1a\n" + bytes(100), "found a PNG image"),
        ("cut.pt", FIXTURE.read_bytes()[:4000], "zip archive .* truncated"),
        ("model.safetensors", b"hello", "found a text file of 5 bytes"),
        ("zeros.safetensors", bytes(1000), "found 1000 bytes of unrecognised binary data"),
    ],
)
def test_foreign_or_truncated_file_gets_one_message_naming_what_was_found(
    tmp_path, name, content, found
):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(
        CheckpointError, match=f"^{path}: expected a .*checkpoint.*{found}"
    ) as error:
        WorldModel.from_pretrained(path)
    assert "\n" not in str(error.value)


def test_a_zip_that_is_not_a_torch_file_is_refused(tmp_path):
    archive = Path(__file__).parents[1] / "fixtures" / "vjepa2_tiny_official.npz"
    found = r"expected a checkpoint.*found a zip archive .*frames\.npy"
    with pytest.raises(CheckpointError, match=found):
        WorldModel.from_pretrained(archive)


def test_missing_path_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        WorldModel.from_pretrained(tmp_path / "nope.pt")


def test_unknown_width_needs_heads(tmp_path):
    with pytest.raises(
        CheckpointError,
        match=r"cannot infer the encoder head count for width 128.*encoder_num_heads",
    ):
        WorldModel.from_pretrained(FIXTURE, image_size=64)
    with pytest.raises(
        CheckpointError, match=r"predictor head count for width 96.*predictor_num_heads"
    ):
        WorldModel.from_pretrained(FIXTURE, encoder_num_heads=4, image_size=64)


def test_encoder_only_pretraining_layout(tmp_path):
    ckpt = _official()
    encoder_only = {
        "encoder": ckpt["encoder"],
        "predictor": {"module.mask_tokens.0": torch.zeros(1)},
        "epoch": 3,
    }
    model = WorldModel.from_pretrained(
        _save(tmp_path, encoder_only), encoder_num_heads=4, image_size=64
    )
    assert model.predictor is None
    with pytest.raises(RuntimeError, match="no action-conditioned predictor"):
        model.predict(torch.zeros(1, 1, 16, 128), torch.zeros(1, 1, 7), torch.zeros(1, 1, 7))


def test_native_round_trip_keeps_outputs_and_metadata(tmp_path):
    reference = WorldModel.from_pretrained(FIXTURE, **HEADS)
    file = reference.save_pretrained(tmp_path / "model", metadata={"step": 7, "data": {"fps": 4}})
    assert file.name == "model.safetensors" and not list(file.parent.glob(".*tmp*"))
    loaded = WorldModel.from_pretrained(tmp_path / "model")
    assert loaded.config == reference.config
    assert WorldModel.read_metadata(tmp_path / "model") == {"step": 7, "data": {"fps": 4}}
    frames = np.random.default_rng(0).integers(0, 255, (1, 2, 64, 64, 3), dtype=np.uint8)
    assert torch.equal(loaded.encode(frames), reference.encode(frames))


def test_truncated_native_checkpoint_is_refused(tmp_path):
    config = WorldModelConfig(encoder=encoder_preset("vit_tiny"))
    file = WorldModel(config).save_pretrained(tmp_path / "m")
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])
    found = (
        rf"found {len(data) // 2} bytes where its header describes {len(data)}: "
        r"the file is truncated"
    )
    with pytest.raises(CheckpointError, match=found):
        WorldModel.from_pretrained(tmp_path / "m")


def test_same_size_corruption_is_refused_naming_the_file(tmp_path):
    config = WorldModelConfig(encoder=encoder_preset("vit_tiny"))
    file = WorldModel(config).save_pretrained(tmp_path / "m")
    size = file.stat().st_size
    with open(file, "r+b") as handle:  # 200 KB of zeros inside the weights, the size unchanged
        handle.seek(size // 3)
        handle.write(bytes(200_000))
    assert file.stat().st_size == size
    with pytest.raises(CheckpointError, match=f"{file} is corrupt: its weights do not match the"):
        WorldModel.from_pretrained(tmp_path / "m")


def _write_raw(file: Path, version: str, checksum: str | None) -> Path:
    from safetensors.torch import save_file

    from wm_control.checkpoints.native import tensors_sha256

    model = WorldModel(WorldModelConfig(encoder=encoder_preset("vit_tiny")))
    state = {f"encoder.{k}": v.contiguous() for k, v in model.encoder.state_dict().items()}
    config = json.dumps(model.config.to_dict())
    header = {"format": "wm-control", "format_version": version, "config": config}
    if checksum == "right":
        header["weights_sha256"] = tensors_sha256(state)
    save_file(state, str(file), metadata=header)
    return file


def test_checkpoints_from_before_checksums_still_load_and_new_ones_need_one(tmp_path):
    # format version 1 (the shipped model's) recorded no checksum: nothing to verify against
    WorldModel.from_pretrained(_write_raw(tmp_path / "v1.safetensors", "1", None))
    WorldModel.from_pretrained(_write_raw(tmp_path / "v2.safetensors", "2", "right"))
    with pytest.raises(CheckpointError, match="expected a weights checksum"):
        WorldModel.from_pretrained(_write_raw(tmp_path / "v2_bare.safetensors", "2", None))


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_saved_models_follow_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        model = WorldModel(WorldModelConfig(encoder=encoder_preset("vit_tiny")))
        file = model.save_pretrained(tmp_path / "m")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(file.stat().st_mode) == 0o666 & ~umask


def test_foreign_safetensors_is_refused(tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(CheckpointError, match="written by wm-control"):
        WorldModel.from_pretrained(tmp_path / "other.safetensors")


def test_with_new_predictor_keeps_encoder(tmp_path):
    encoder = encoder_preset("vit_tiny")
    base = WorldModel(WorldModelConfig(encoder=encoder))
    model = base.with_new_predictor(predictor_preset("ac_tiny", encoder))
    assert model.encoder_fingerprint() == base.encoder_fingerprint()
    assert model.predictor is not None and model.predictor.config.encoder_width == encoder.width


def test_a_loaded_model_survives_its_file_being_overwritten_in_place(tmp_path):
    """A running planner must not crash (SIGBUS) or change its weights when its checkpoint is
    replaced in place (cp, a re-download): loading copies the weights out of the mapped file. Run
    in a child process, since the failure kills the process that reads the weights."""
    import subprocess
    import sys

    file = tmp_path / "model.safetensors"
    WorldModel(
        WorldModelConfig(
            encoder=encoder_preset("vit_tiny"),
            predictor=predictor_preset("ac_tiny", encoder_preset("vit_tiny")),
        )
    ).save_pretrained(file)
    script = (
        "import sys, torch\n"
        "from wm_control import WorldModel\n"
        "model = WorldModel.from_pretrained(sys.argv[1])\n"
        "before = [t.clone() for t in model.state_dict().values()]\n"
        "open(sys.argv[1], 'wb').write(b'x' * 64)  # truncated in place, as cp does first\n"
        "after = list(model.state_dict().values())\n"
        "assert all(torch.equal(a, b) for a, b in zip(before, after)), 'weights changed'\n"
        "print('ok')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(file)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", (run.returncode, run.stderr[-500:])
