"""Browser fixtures for the console tests: ONE headless Chromium for the whole session (launching
one takes seconds on this machine), a fresh context per test, a logged-in operator, and the shared
checks every page gets — no JavaScript console errors — plus screenshots a reviewer can open."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1440, "height": 900}
OPERATOR = ("console-operator", "correct horse battery")
COORDINATOR = ("console-coordinator", "battery staple horse")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls in the tests stay plain sync.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_page(browser):
    """A fresh page at 1440 px; the test fails if any page it opened logged a JavaScript error."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(20_000)
    js_errors: list[str] = []
    page.on("console", lambda message: js_errors.append(f"console: {message.text} @ {page.url}") if message.type == "error" else None)
    page.on("pageerror", lambda error: js_errors.append(f"page error: {error} @ {page.url}"))
    yield page
    context.close()
    assert not js_errors, js_errors


@pytest.fixture
def operator(transactional_db):
    from apps.core.services import issue_api_token
    from apps.playbooks.models import Playbook
    from apps.workers.models import Worker

    # The session's search corpus may be committed already (and a transactional test flushes it
    # anyway): each console test starts from an empty corpus and counts what it creates.
    Playbook.objects.all().delete()
    Worker.objects.all().delete()

    issue_api_token(username=OPERATOR[0], staff=True, password=OPERATOR[1])
    return OPERATOR


def _log_in(page, base_url: str, credentials: tuple[str, str]):
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", credentials[0])
    page.fill("#id_password", credentials[1])
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    return page, base_url


@pytest.fixture
def logged_in(browser_page, live_server, operator):
    """The operator's page, logged in; returns (page, base url)."""
    return _log_in(browser_page, live_server.url, operator)


@pytest.fixture
def coordinator(operator):
    """A coordinator who may open the console (`manage.py api_token NAME --coordinator`), beside the
    operator (who created the orders); the corpus is emptied by the operator fixture."""
    from apps.core.services import issue_api_token

    issue_api_token(username=COORDINATOR[0], coordinator_console=True, password=COORDINATOR[1])
    return COORDINATOR


@pytest.fixture
def coordinator_logged_in(browser_page, live_server, coordinator):
    """The coordinator's page, logged in; returns (page, base url)."""
    return _log_in(browser_page, live_server.url, coordinator)


def screenshot(page, name: str) -> Path:
    """Write the whole page to test-artifacts/screenshots/<name>.png (a reviewer opens these)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
