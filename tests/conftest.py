"""Fixtures every Kongpan test can use.

- ``shared_dir``: the ``../shared`` folder beside this checkout (real CRM
  exports and cases). Missing → the test is skipped, or fails when
  ``KONGPAN_REQUIRE_SHARED=1`` (as in CI). Tests using it are marked
  ``realdata`` automatically.
- ``store_url``: a fresh SQLite URL in the test's tmp folder.
- Every test runs with ``KONGPAN_DATABASE_URL`` pointing at that same
  tmp SQLite file, so no test ever touches ``data/kongpan.db`` or a server
  configured in the developer's shell.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

SHARED_MISSING = (
    "../shared is not beside this checkout: real CRM exports and cases live "
    "there (set KONGPAN_SHARED_DIR)"
)

_session_tmp: str | None = None


def require_shared() -> bool:
    """True in CI: what a test needs from outside the repo must be there."""
    return os.environ.get("KONGPAN_REQUIRE_SHARED") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip the test, or fail it when KONGPAN_REQUIRE_SHARED=1."""
    if require_shared():
        pytest.fail(f"{reason} [KONGPAN_REQUIRE_SHARED=1]", pytrace=False)
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    # Guard for code that runs outside a test (collection, session fixtures):
    # point the store at a throwaway file before anything can open it.
    global _session_tmp
    _session_tmp = tempfile.mkdtemp(prefix="kongpan-tests-")
    os.environ["KONGPAN_DATABASE_URL"] = f"sqlite:///{_session_tmp}/kongpan.db"


def pytest_unconfigure(config: pytest.Config) -> None:
    if _session_tmp:
        shutil.rmtree(_session_tmp, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test that asks for shared_dir reads real data: mark it so that
    # `-m "not realdata"` leaves it out and CI refuses to skip it.
    for item in items:
        if "shared_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """With KONGPAN_REQUIRE_SHARED=1, a skipped realdata test is a failure."""
    report = yield
    if (
        report.skipped
        and require_shared()
        and item.get_closest_marker("realdata") is not None
        and not hasattr(report, "wasxfail")
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        report.outcome = "failed"
        report.longrepr = (
            f"realdata test skipped while KONGPAN_REQUIRE_SHARED=1: {reason}"
        )
    return report


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Path of ../shared (or $KONGPAN_SHARED_DIR); skip/fail when absent."""
    override = os.environ.get("KONGPAN_SHARED_DIR")
    path = Path(override) if override else REPO_ROOT.parent / "shared"
    if not path.is_dir():
        skip_or_fail(SHARED_MISSING)
    return path


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A fresh SQLite URL; the same database KONGPAN_DATABASE_URL names."""
    return f"sqlite:///{tmp_path}/kongpan.db"


@pytest.fixture(autouse=True)
def _isolated_store(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the app's store at the test's own tmp SQLite file."""
    monkeypatch.setenv("KONGPAN_DATABASE_URL", store_url)
