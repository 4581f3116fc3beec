"""The project's plumbing: pinned requirements, local-only config, CI entry."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

PINNED = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[^=<>~!*\s]+$"
)


def requirement_lines(name: str) -> list[str]:
    lines = []
    for raw in (REPO_ROOT / name).read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-dev.txt"])
def test_requirements_are_pinned(name: str) -> None:
    lines = requirement_lines(name)
    assert lines, f"{name} lists nothing"
    loose = [
        line
        for line in lines
        if not PINNED.match(line) and line != "-r requirements.txt"
    ]
    assert not loose, f"{name}: pin every line with ==: {loose}"


def test_streamlit_config_keeps_the_app_local() -> None:
    config = tomllib.loads(
        (REPO_ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8")
    )
    assert config.get("browser", {}).get("gatherUsageStats") is False
    size = config.get("server", {}).get("maxUploadSize")
    assert isinstance(size, int) and 0 < size <= 200, size


def test_readme_names_the_two_commands() -> None:
    readme = REPO_ROOT / "README.md"
    if not readme.exists():
        pytest.skip("no README.md yet")
    text = readme.read_text(encoding="utf-8")
    assert "make run" in text
    assert "make test" in text


def test_makefile_has_run_and_test() -> None:
    text = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^run:", text, re.M)
    assert re.search(r"^test:", text, re.M)
    assert "playwright install" not in text


@pytest.mark.parametrize("name", [".ci/run", "scripts/install-test-deps"])
def test_scripts_are_executable(name: str) -> None:
    path = REPO_ROOT / name
    assert path.is_file()
    assert os.access(path, os.X_OK), f"{name} is not executable (chmod +x)"
    assert "set -euo pipefail" in path.read_text(encoding="utf-8")


def test_ci_runs_make_test_and_requires_shared() -> None:
    text = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.strip() for line in text.splitlines()]
    assert any(line.startswith("make test") for line in commands)
    assert "export KONGPAN_REQUIRE_SHARED=1" in commands


def test_tests_never_touch_the_default_store() -> None:
    url = os.environ["KONGPAN_DATABASE_URL"]
    assert url.startswith("sqlite:///")
    assert "data/kongpan.db" not in url
    assert not Path(url.removeprefix("sqlite:///")).is_relative_to(REPO_ROOT)


SHARED_PROBE = """
def test_needs_shared(shared_dir):
    assert shared_dir.is_dir()
"""


def _run_probe(tmp_path: Path, require: str) -> subprocess.CompletedProcess[str]:
    """Run a test that needs ../shared, with ../shared pointed nowhere."""
    (tmp_path / "conftest.py").write_text(
        (REPO_ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    (tmp_path / "test_probe.py").write_text(SHARED_PROBE, encoding="utf-8")
    env = dict(os.environ)
    env["KONGPAN_SHARED_DIR"] = str(tmp_path / "no-such-dir")
    env["KONGPAN_REQUIRE_SHARED"] = require
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
         "-W", "ignore::pytest.PytestUnknownMarkWarning", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_missing_shared_skips_locally(tmp_path: Path) -> None:
    result = _run_probe(tmp_path, require="0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    assert "../shared is not beside this checkout" in result.stdout


def test_missing_shared_fails_in_ci(tmp_path: Path) -> None:
    result = _run_probe(tmp_path, require="1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "skipped" not in result.stdout.splitlines()[-1]
    assert "../shared is not beside this checkout" in result.stdout
