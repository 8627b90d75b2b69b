"""Browser tests: Debian's Chromium driven by Playwright against a live server on a free port, with a temporary
SQLite database holding the demo accounts. Skipped with a message when Chromium is absent, except in CI (``CI`` set),
where that is a failure. Each step leaves a screenshot under ``test-output/screenshots/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from prorata.bootstrap import App, build
from prorata.entrypoints.cli.demo import DEMO_PASSWORD
from tests.conftest import Templates
from tests.e2e.conftest import with_demo  # noqa: F401  registers PREPARED["app"], the demo at START
from tests.live_server import Server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"

if not os.path.exists(CHROMIUM):
    message = f"{CHROMIUM} is not installed (scripts/ensure-chromium installs it); the browser tests are skipped"
    if os.environ.get("CI"):
        pytest.fail(message + ", which CI does not allow", pytrace=False)
    pytest.skip(message, allow_module_level=True)

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def demo_app(tmp_path: Path, templates: Templates) -> App:
    """The demo installation at ``START`` on SQLite: a copy of the one made once per test session (``PREPARED``)."""
    path = tmp_path / "portal.sqlite3"
    templates.sqlite("app", path)
    app = build(f"sqlite:///{path}")
    app.clock.refresh()
    return app


@pytest.fixture
def server(tmp_path: Path, templates: Templates) -> Iterator[Server]:
    app = demo_app(tmp_path, templates)
    with Server(app) as running:
        yield running
    app.close()


class Walk:
    """A page in Chromium that signs in, and saves a numbered screenshot of each step of the test."""

    def __init__(self, page: Page, server: Server, name: str) -> None:
        self.page = page
        self.server = server
        self.name = re.sub(r"[^\w-]+", "-", name)
        self.step = 0

    def go(self, path: str) -> None:
        self.page.goto(self.server.url + path)

    def follow(self, selector: str) -> None:
        """Click a link or a submit button and wait for the page it leads to, so that the next step never acts on
        the page being left (a loaded machine makes that race visible)."""
        with self.page.expect_navigation():
            self.page.click(selector)

    def shot(self, label: str) -> None:
        self.step += 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{self.name}-{self.step:02d}-{label}.png"), full_page=True)

    def sign_in(self, email: str, language: str = "en") -> None:
        self.go(f"/language/{language}?next=/signin")
        self.page.fill("input[name=email]", email)
        self.page.fill("input[name=password]", DEMO_PASSWORD)
        self.shot("sign-in")
        self.follow("button[type=submit]")
        self.page.wait_for_url("**/billing")


@pytest.fixture
def walk(browser: Browser, server: Server, request: pytest.FixtureRequest) -> Iterator[Walk]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield Walk(page, server, request.node.name)
    context.close()
