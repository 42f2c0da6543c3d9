"""Browser tests: Playwright for Python driving Debian's Chromium against a live test server.

The browser is the system's /usr/bin/chromium (CXC_CHROMIUM overrides it) — never a browser
download. `.ci/run` installs Debian's `chromium` when it is missing, so in CI these run; on a
machine without it they are skipped with that reason. Screenshots of every page visited go to
tests/e2e/screenshots/ (git-ignored).
"""

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# Playwright's sync API keeps an event loop running in this thread; Django refuses database
# calls next to a running loop unless told it is safe, which it is here (one thread, in turn).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CXC_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# Each role's main journey runs at both widths: `@BOTH_WIDTHS` gives the test a `viewport`.
BOTH_WIDTHS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
# The flags the machine notes ask for: no background networking on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    missing = not Path(CHROMIUM).exists()
    for item in items:
        if item.path.is_relative_to(here) and missing:
            item.add_marker(
                pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM} (apt install chromium)")
            )


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Session:
    """One browser context (one person's cookies) on the live server."""

    def __init__(self, browser, base_url: str, viewport: dict):
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.base_url = base_url
        self.console_errors: list[str] = []
        self.page.on(
            "console", lambda msg: msg.type == "error" and self.console_errors.append(msg.text)
        )

    def go(self, path: str):
        response = self.page.goto(self.base_url + path)
        assert response is not None
        return response

    def sign_in(self, email: str, password: str) -> None:
        self.go("/accounts/login/")
        self.page.fill("#id_username", email)
        self.page.fill("#id_password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(re.compile(r".*/$"))

    @property
    def width(self) -> int:
        return self.page.viewport_size["width"]

    def use_menu(self, name: str) -> None:
        """Follow a link of the main menu as a person would: the Menu button first on a phone,
        the Manage list for role work."""
        toggle = self.page.locator("label.nav-toggle-label")
        if toggle.is_visible() and not self.page.locator("#nav-toggle").is_checked():
            toggle.click()
        link = self.page.locator("nav.nav").get_by_role("link", name=name, exact=True)
        if not link.is_visible():
            self.page.locator("nav.nav details.nav-manage > summary").click()
        with self.page.expect_navigation():
            link.click()

    def shows(self, name: str) -> None:
        """Screenshot the page and check that nothing scrolls sideways at this width."""
        self.screenshot(f"{name}-{self.width}")
        overflow = self.horizontal_overflow()
        if overflow == 0:
            return
        wide = self.too_wide()
        raise AssertionError(
            f"{self.page.url} scrolls sideways by {overflow} px at {self.width}: {wide}"
        )

    def too_wide(self) -> list[str]:
        """The outermost elements reaching past the screen's right edge (what to fix)."""
        return self.page.evaluate(
            """() => {
                const limit = document.documentElement.clientWidth;
                const wide = Array.from(document.querySelectorAll('main *')).filter(
                    (el) => el.getBoundingClientRect().right > limit + 0.5);
                return wide.filter((el) => !wide.includes(el.parentElement)).map((el) =>
                    el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                    (el.className && typeof el.className === 'string'
                        ? '.' + el.className.trim().split(/\\s+/).join('.') : ''));
            }"""
        )

    def finish(self) -> None:
        """The check at the end of a journey: no console errors."""
        assert self.console_errors == []

    def horizontal_overflow(self) -> int:
        """How many pixels the page is wider than the screen (0 when nothing scrolls sideways)."""
        return self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_session(browser, live_server):
    sessions: list[Session] = []

    def make(viewport: dict = DESKTOP) -> Session:
        session = Session(browser, live_server.url, viewport)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()
