"""`python -m wm_control.checkpoints.compare`: the same weights under different run records are the
same model (what `make default-model` checks); a changed weight or config is not."""

import pytest
import torch

from wm_control import WorldModel
from wm_control.checkpoints.compare import compare_weights, main
from wm_control.models.config import EncoderConfig, PredictorConfig, WorldModelConfig


def _model(depth: int = 1) -> WorldModel:
    torch.manual_seed(0)
    encoder = EncoderConfig(width=32, depth=1, num_heads=2, mlp_hidden=64, image_size=(32, 32))
    predictor = PredictorConfig(
        width=32, depth=depth, num_heads=2, mlp_hidden=64, encoder_width=32, image_size=(32, 32)
    )
    return WorldModel(WorldModelConfig(encoder=encoder, predictor=predictor))


def test_same_weights_with_other_run_records_are_the_same_model(tmp_path, capsys):
    model = _model()
    model.save_pretrained(tmp_path / "shipped", metadata={"command": "train out_dir=runs/a"})
    model.save_pretrained(tmp_path / "remade", metadata={"command": "train out_dir=runs/b"})
    result = compare_weights(tmp_path / "remade", tmp_path / "shipped")
    assert result.same and result.message.startswith("weights identical")
    assert main([str(tmp_path / "remade"), str(tmp_path / "shipped")]) == 0
    assert "weights identical" in capsys.readouterr().out


def test_one_changed_weight_is_another_model(tmp_path):
    model = _model()
    model.save_pretrained(tmp_path / "shipped")
    with torch.no_grad():
        next(model.predictor.parameters()).view(-1)[0] += 1e-7
    model.save_pretrained(tmp_path / "remade")
    result = compare_weights(tmp_path / "remade", tmp_path / "shipped")
    assert not result.same and result.message.startswith("weights differ")
    assert main([str(tmp_path / "remade"), str(tmp_path / "shipped")]) == 1


def test_another_config_is_another_model(tmp_path):
    _model(depth=1).save_pretrained(tmp_path / "shipped")
    _model(depth=2).save_pretrained(tmp_path / "remade")
    result = compare_weights(tmp_path / "remade", tmp_path / "shipped")
    assert not result.same and "configs differ in ['predictor']" in result.message


def test_wrong_arguments_print_usage(capsys):
    assert main(["one"]) == 2
    assert "usage" in capsys.readouterr().err


def test_a_missing_checkpoint_is_named_in_one_line(tmp_path, capsys):
    _model().save_pretrained(tmp_path / "shipped")
    with pytest.raises(ValueError, match=r"as the remade model, found nothing at .*missing"):
        compare_weights(tmp_path / "missing", tmp_path / "shipped")
    assert main([str(tmp_path / "missing"), str(tmp_path / "shipped")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
