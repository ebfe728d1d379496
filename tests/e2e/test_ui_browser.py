"""A person's path through the Prefect UI, in a real headless Chromium.

Debian's ``chromium`` (``/usr/bin/chromium``) driven by Playwright for Python;
Playwright's own browser downloads are never used. The test opens the UI of the
e2e server, finds the import deployment, fills its parameter form, runs it and
watches the run page until the run is Completed. Screenshots of the form and
of the finished run are kept in the test's tmp dir.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright

from tests.e2e.conftest import Deployment
from tests.helpers.diskimages import make_qcow2

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
RUN_NAME = "e2e-browser-run"
IMAGE_NAME = "e2e-browser"


@pytest.fixture
def page() -> Iterator[Page]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium"
            " (scripts/bootstrap --test does)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            context.set_default_timeout(90_000)  # CI shares two cores with the whole stack
            yield context.new_page()
        finally:
            browser.close()


def parameter(page: Page, name: str) -> Locator:
    """The input of one field of the request in the run form (drawn from its JSON schema).

    The request is one object parameter whose fields are nested properties: take the
    nearest property around the label, not the outer one that holds every field.
    """
    label = page.locator(".schema-form-property__label", has_text=re.compile(f"^{name}$"))
    nearest = "xpath=ancestor::*[contains(concat(' ', @class, ' '), ' schema-form-property ')][1]"
    return label.locator(nearest).locator("textarea").first


def test_a_person_runs_an_import_from_the_ui(
    deployment: Deployment, page: Page, tmp_path: Path
) -> None:
    """Deployments → import → Run → Custom run → fill source/account/name → Submit → Completed."""
    try:
        click_through(deployment, page, tmp_path)
    except Exception:
        page.screenshot(path=tmp_path / "failure.png")
        raise
    images = deployment.cloud.images("alice", name=IMAGE_NAME)
    assert [image["status"] for image in images] == ["active"]
    assert (tmp_path / "run-completed.png").stat().st_size > 10_000


def click_through(deployment: Deployment, page: Page, tmp_path: Path) -> None:
    source = make_qcow2(tmp_path, "browser.qcow2")
    ui = deployment.api.url.removesuffix("/api")
    page.goto(f"{ui}/deployments")
    page.get_by_role("link", name="import", exact=True).click()
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Custom run").click()

    page.locator(".p-label").filter(has_text="Run Name").locator("input").fill(RUN_NAME)
    parameter(page, "Source").fill(str(source))
    parameter(page, "Account").fill("e2e-alice")
    parameter(page, "Name").fill(IMAGE_NAME)
    page.screenshot(path=tmp_path / "run-form.png", full_page=True)
    page.get_by_role("button", name="Submit").click()

    # The UI goes back to the deployment; "Runs" there is the deployment's Runs tab or,
    # depending on which loads first, the sidebar's Runs page: both list the run.
    page.wait_for_url(re.compile(r"/deployments/deployment/[^/?]+(\?.*)?$"))
    page.get_by_role("button", name="Runs", exact=True).first.click()
    run_link = page.get_by_role("link", name=RUN_NAME, exact=True).first
    expect(run_link).to_be_visible(timeout=60_000)
    run_link.click()
    page.wait_for_url(re.compile(r"/runs/flow-run/"))
    badge = page.locator(".state-badge").first
    expect(badge).to_have_text(re.compile("Completed"), timeout=180_000)
    page.wait_for_timeout(2000)  # let the task timeline and logs draw for the screenshot
    page.screenshot(path=tmp_path / "run-completed.png")
