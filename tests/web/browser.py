"""What the browser tests share: Debian's Chromium driven by Playwright for Python (with
`executable_path`, the launch flags this closed network needs), a real server on a free
port over a fresh SQLite database, and a page that fails the test on a JavaScript error.
Without Chromium or Playwright the tests are skipped loudly, except in CI (CI=true), where
that fails."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import IN_CI
from tests.process_helpers import Server, run_cli, running_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"


def missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but {what} (run scripts/ensure-chromium as root)")
    warnings.warn(f"browser tests skipped: {what}", stacklevel=2)
    pytest.skip(f"!!! browser tests SKIPPED: {what} (run scripts/ensure-chromium as root) !!!")


def playwright_api() -> ModuleType:
    """Playwright's sync API, once Chromium is known to be there."""
    try:
        from playwright import sync_api
    except ImportError:
        missing("the playwright package is not installed")
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        missing(f"{CHROMIUM} is missing")
    return sync_api


@contextmanager
def served(directory: Path, seed: Callable[[str], None]) -> Iterator[Server]:
    """`clientcard serve` over a new SQLite database in `directory`, seeded by `seed(url)`."""
    url = f"sqlite:///{directory / 'clientcard.db'}"
    upgraded = run_cli(["db", "upgrade"], url, cwd=directory)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    seed(url)
    with running_server(url, directory) as running:
        yield running


@contextmanager
def browser_page(sync_api: ModuleType, server: Server, profile: Path) -> Iterator[object]:
    """A page in a new Chromium profile. Nothing leaves the machine (Gravatar included):
    the pages must work without it. A JavaScript error on any page fails the test."""
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            locale="en-US",  # Accept-Language: the pages speak English unless told otherwise
            viewport={"width": 1280, "height": 900},
        )
        context.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(server.url) else route.abort()
            ),
        )
        context.set_default_timeout(15_000)
        page = context.pages[0] if context.pages else context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        context.close()
        assert not errors, f"JavaScript errors on the pages: {errors}"


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
