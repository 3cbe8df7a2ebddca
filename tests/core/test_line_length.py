"""Every line of the project's code and configuration files fits the project's line length.

The limit is ``[tool.ruff] line-length`` in pyproject.toml (one source of truth): ``ruff format``
lays out the code within it, but leaves docstrings, comments and long string literals alone, and
does not read YAML, TOML, shell, setup.cfg or the Makefile; this test covers all of them. Lengths
are counted in characters (a tab is one). A line that is nothing but one URL (after the comment or
quote markers) may be longer: URLs are not broken.
"""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SUFFIXES = {".py", ".yaml", ".toml", ".sh", ".cfg"}
NAMES = {"Makefile"}

# Without git (e.g. an unpacked source archive): these top-level folders and files are walked.
TOP_LEVEL = ["wm_control", "envs", "ros_nodes", "tests", "bench", "configs", "launch", ".ci"]
TOP_FILES = ["pyproject.toml", "Makefile"]
SKIPPED_DIRS = {"build", "install", "log", ".venv", "__pycache__"}

# "# https://...", '"https://...",', "<https://...>": one URL token and nothing else
URL_ONLY = re.compile(r"""\s*(?:#+|//)?\s*["'<(]?https?://\S+?["'>),]*\s*""")


def line_limit() -> int:
    """``[tool.ruff] line-length`` of the project's pyproject.toml."""
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["tool"]["ruff"]["line-length"]


def is_checked(path: Path) -> bool:
    return path.suffix in SUFFIXES or path.name in NAMES


def project_files(root: Path = ROOT) -> list[Path]:
    """The checked files: those git tracks in a checkout, else a walk of the project's folders."""
    if (root / ".git").exists():
        try:
            listed = subprocess.run(
                ["git", "ls-files", "-z"],
                cwd=root,
                capture_output=True,
                check=True,
                timeout=60,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            pass
        else:
            paths = (root / name for name in listed.decode().split("\0") if name)
            return sorted(p for p in paths if is_checked(p) and p.is_file())
    found = [root / name for name in TOP_FILES if (root / name).is_file()]
    for top in TOP_LEVEL:
        for folder, dirs, files in os.walk(root / top):
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
            found += [Path(folder) / f for f in files if is_checked(Path(folder) / f)]
    return sorted(found)


def long_lines(paths: list[Path], limit: int, root: Path = ROOT) -> list[str]:
    """``file:line: length`` (relative to ``root``) of every line longer than ``limit`` that is not
    a lone URL."""
    offenders = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.split("\n"), start=1):
            line = line.rstrip("\r")
            if len(line) > limit and not URL_ONLY.fullmatch(line):
                offenders.append(f"{path.relative_to(root)}:{number}: {len(line)}")
    return offenders


def test_limit_is_read_from_pyproject():
    assert isinstance(line_limit(), int) and line_limit() >= 79


def test_the_checked_files_include_code_and_configuration():
    names = {p.relative_to(ROOT).as_posix() for p in project_files()}
    assert {"pyproject.toml", "Makefile", "wm_control/world_model.py"} <= names
    assert any(n.startswith("configs/") and n.endswith(".yaml") for n in names)


def test_without_git_the_project_folders_are_walked(tmp_path):
    for name in [
        "Makefile",
        "pyproject.toml",
        "README.md",
        "wm_control/a.py",
        "configs/b.yaml",
        ".ci/c.sh",
        "ros_nodes/setup.cfg",
        "ros_nodes/build/d.py",
        "tests/__pycache__/e.py",
        ".venv/f.py",
        "docs/g.py",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x\n")
    found = {p.relative_to(tmp_path).as_posix() for p in project_files(tmp_path)}
    assert found == {
        "Makefile",
        "pyproject.toml",
        "wm_control/a.py",
        "configs/b.yaml",
        ".ci/c.sh",
        "ros_nodes/setup.cfg",
    }


def test_a_lone_url_may_be_longer_but_nothing_else(tmp_path):
    url = "https://example.org/" + "a" * 120
    sample = tmp_path / "sample.py"
    lines = [
        f"# {url}",
        f'    "{url}",',
        f"    <{url}>",
        f"x = 1  # see {url}",
        "# " + "word " * 30,
        "# short",
    ]
    sample.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert long_lines([sample], 100, root=tmp_path) == ["sample.py:4: 153", "sample.py:5: 152"]


def test_no_line_is_longer_than_the_limit():
    limit = line_limit()
    offenders = long_lines(project_files(), limit)
    assert not offenders, (
        f"{len(offenders)} lines longer than {limit} characters "
        "([tool.ruff] line-length in pyproject.toml):\n" + "\n".join(offenders)
    )
