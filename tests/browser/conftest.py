"""Real-browser tests: the app served on loopback, driven by Debian's Chromium.

Everything under tests/browser is marked ``browser`` (deselect with
``-m "not browser"``).

- ``app_server``: runs ``streamlit run`` on a free 127.0.0.1 port, in its own
  process group, with its own tmp SQLite store; yields the base URL.
  Override the ``app_script`` fixture to serve another script.
- ``page``: a fresh zh-CN browser context and page. Any request that leaves
  127.0.0.1 is aborted and fails the test at teardown.
- ``wait_idle(page)``: wait until the script has finished its run.

Chromium comes from ``scripts/install-test-deps`` (never ``playwright
install``). Missing → skip, or fail when KONGPAN_REQUIRE_SHARED=1 (CI).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
SERVER_START_TIMEOUT = 60.0

_IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app !== null
    && app.getAttribute('data-test-script-state') === 'notRunning'
    && document.querySelector('[data-testid="stStatusWidget"]') === null;
}"""


def _require_shared() -> bool:
    return os.environ.get("KONGPAN_REQUIRE_SHARED") == "1"


def _skip_or_fail(reason: str) -> None:
    if _require_shared():
        pytest.fail(f"{reason} [KONGPAN_REQUIRE_SHARED=1]", pytrace=False)
    pytest.skip(reason)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


def wait_idle(page, timeout: float = 30_000) -> None:
    """Wait until the app's script is not running and the status widget is gone.

    Right after a click the app may still look idle for a moment (the rerun
    has not started yet, and old elements stay on screen during a rerun):
    after an action, also wait for something the action changes.
    """
    page.wait_for_function(_IDLE_JS, timeout=timeout)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Ignore any proxy settings in the environment: the server is on loopback.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _healthy(url: str) -> bool:
    try:
        with _direct.open(f"{url}/_stcore/health", timeout=2) as resp:
            return resp.status == 200 and resp.read().strip() == b"ok"
    except OSError:
        return False


def _stop_group(proc: subprocess.Popen) -> None:
    """Stop the server's process group: SIGTERM, then SIGKILL after 10 s."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    else:
        # The leader is gone; children it left in the group must go too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def start_app_server(script: Path, workdir: Path) -> Iterator[str]:
    """Serve SCRIPT with streamlit on a free loopback port; yield its base URL.

    The server gets its own process group and its own SQLite store under
    WORKDIR (KONGPAN_DATABASE_URL); its log is WORKDIR/streamlit.log.
    """
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / "streamlit.log"
    env = dict(os.environ)
    env.update(
        KONGPAN_DATABASE_URL=f"sqlite:///{workdir}/kongpan.db",
        PYTHONUNBUFFERED="1",
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
    )
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,  # so .streamlit/config.toml applies
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group, killed as one
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                what = (
                    f"exited with code {proc.returncode}"
                    if proc.poll() is not None
                    else f"not healthy after {SERVER_START_TIMEOUT:.0f} s"
                )
                log_text = log_path.read_text(errors="replace")[-5000:]
                pytest.fail(
                    f"streamlit server {what}: {' '.join(cmd)}\n"
                    f"--- server log ---\n{log_text}",
                    pytrace=False,
                )
            time.sleep(0.2)
        yield url
    finally:
        _stop_group(proc)


@pytest.fixture
def app_script() -> Path:
    """The script app_server serves; override in a test module to serve another."""
    return REPO_ROOT / "app.py"


@pytest.fixture
def app_server(app_script: Path, tmp_path: Path) -> Iterator[str]:
    """Base URL of a fresh app server (one per test, with an empty store)."""
    workdir = tmp_path / "server"
    workdir.mkdir()
    with start_app_server(app_script, workdir) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under Playwright, headless, one per test module."""
    if not os.access(CHROMIUM, os.X_OK):
        _skip_or_fail(
            f"{CHROMIUM} is missing: run scripts/install-test-deps "
            "(Debian chromium + fonts-wqy-microhei)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _skip_or_fail(
            f"playwright is not installed ({exc}): pip install -r requirements-dev.txt"
        )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def _is_outside(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https", "ws", "wss"}:
        return False  # data:, blob:, about:, chrome-extension: stay inside
    return parts.hostname not in LOCAL_HOSTS


@pytest.fixture
def page(browser):
    """A fresh zh-CN page; fails the test if anything leaves 127.0.0.1."""
    outside: list[str] = []
    context = browser.new_context(
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 1400, "height": 1000},
    )
    context.on(
        "request",
        lambda req: (
            outside.append(f"{req.method} {req.url}") if _is_outside(req.url) else None
        ),
    )
    # Abort such requests too: nothing leaves this machine during a test.
    context.route(_is_outside, lambda route: route.abort())
    page = context.new_page()
    page.on(
        "websocket",
        lambda ws: outside.append(f"WS {ws.url}") if _is_outside(ws.url) else None,
    )
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        context.close()
    if outside:
        listed = "\n".join(sorted(set(outside)))
        pytest.fail(
            f"the page made requests outside 127.0.0.1:\n{listed}", pytrace=False
        )
