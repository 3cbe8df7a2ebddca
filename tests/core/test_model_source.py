from pathlib import Path

import pytest

from wm_control.model_source import ModelSource

ROOT = Path(__file__).parents[2]


def test_relative_paths_current_folder_first_then_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped = ModelSource(path="tests/fixtures/vjepa2_tiny_official.pt")
    assert shipped.resolved_path(ROOT) == ROOT / "tests/fixtures/vjepa2_tiny_official.pt"
    (tmp_path / "tests/fixtures").mkdir(parents=True)
    (tmp_path / "tests/fixtures/vjepa2_tiny_official.pt").write_bytes(b"x")
    assert shipped.resolved_path(ROOT) == Path("tests/fixtures/vjepa2_tiny_official.pt")
    assert ModelSource(path="missing.pt").resolved_path(ROOT) == Path("missing.pt")


def test_bad_fields_are_named():
    with pytest.raises(ValueError, match="ModelSource.dtype"):
        ModelSource(path="m", dtype="float8")
    with pytest.raises(ValueError, match=r"unknown fields \['heads'\]"):
        ModelSource.from_dict({"path": "m", "heads": 4})
