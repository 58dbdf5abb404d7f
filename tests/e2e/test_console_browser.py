"""The console in a real headless Chromium (Debian's package, driven by Playwright), against a
uvicorn server holding the demo: real shopping data, the sample programme, a trained model.

One server and one browser for the module. Screenshots of every page go to
``artefacts/console/`` (``LOYALTY_TEST_ARTEFACTS`` to change). SQLite only: the pages' logic and
its queries run on both backends in tests/api/test_console.py; this checks what a browser does
with them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import IN_CI
from tests.e2e.test_server import free_port
from tests.support import ADMIN_KEY, EVENTS_SECRET, STOREFRONT_KEY, WEBHOOK_SECRET

pytestmark = pytest.mark.slow

HOUSEHOLDS = 40
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
ARTEFACTS = Path(os.environ.get("LOYALTY_TEST_ARTEFACTS", "artefacts")) / "console"


def chromium() -> str:
    """Debian's chromium; a missing one skips locally and fails in CI."""
    path = os.environ.get("LOYALTY_TEST_CHROMIUM") or shutil.which("chromium")
    if not path:
        message = "chromium is not installed (tests/e2e/install-chromium.sh installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``loyalty serve --demo`` in production mode, on a SQLite file of its own."""
    folder = tmp_path_factory.mktemp("console")
    port = free_port()
    env = {
        **os.environ,
        "LOYALTY_DATABASE_URL": f"sqlite://{folder / 'demo.sqlite3'}",
        "LOYALTY_ADMIN_KEY": ADMIN_KEY,
        "LOYALTY_STOREFRONT_KEY": STOREFRONT_KEY,
        "LOYALTY_SECRET": "test-signing-secret-of-enough-length",
        "LOYALTY_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "LOYALTY_EVENTS_SECRET": EVENTS_SECRET,
        "LOYALTY_MODEL_DIR": str(folder / "models"),
        "LOYALTY_PRODUCTION": "true",
    }
    command = [sys.executable, "-m", "api.cli", "serve", "--demo", str(HOUSEHOLDS)]
    log = (folder / "serve.log").open("w")
    process = subprocess.Popen(
        [*command, "--port", str(port)], env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # the demo loads and trains first
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"server did not start: {(folder / 'serve.log').read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium()

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def admin(browser: Any, server: str) -> Iterator[Any]:
    """A page signed in as the admin (the sign-in itself is the first test's subject)."""
    context = browser.new_context(base_url=server, viewport=LAPTOP)
    page = context.new_page()
    page.goto("/console/sign-in")
    page.get_by_label("Admin key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/overview")
    yield page
    context.close()


def shot(page: Any, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


def admin_graphql(server: str, query: str) -> dict[str, Any]:
    response = httpx.post(
        f"{server}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=30,
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_sign_in_then_the_overview_draws_its_charts(browser, server):
    context = browser.new_context(base_url=server, viewport=LAPTOP)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto("/console/overview")
    assert "/console/sign-in" in page.url
    shot(page, "sign-in")
    page.get_by_label("Admin key").fill("not-the-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#key-error")).to_have_text("That is not the admin key.")
    page.get_by_label("Admin key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/overview")

    page.wait_for_selector(".plot[data-drawn] canvas")
    drawn = page.locator(".plot[data-drawn] canvas")
    assert drawn.count() == 6
    size = drawn.first.bounding_box()
    assert size is not None and size["width"] > 200 and size["height"] > 100
    assert page.locator(".heatmap tbody tr").count() >= 2  # retention cohorts of the demo
    members = page.locator("figure", has_text="Members").locator("dd").first.inner_text()
    assert members == f"{HOUSEHOLDS:,}"
    shot(page, "overview")

    page.set_viewport_size(PHONE)
    page.reload()
    page.wait_for_selector(".plot[data-drawn] canvas")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "overview-phone")
    assert errors == []
    context.close()


def test_find_a_member_and_adjust_points(admin):
    page = admin
    page.goto("/console/members")
    page.get_by_label("Find by shop id, e-mail or name").fill("cj-1")
    page.wait_for_url("**/console/members?q=cj-1")  # htmx pushed the search, no reload
    expect(page.locator("#results caption")).to_contain_text("cj-1")
    first = page.locator("#results tbody tr th a").first
    expect(first).to_have_text("cj-1")
    shot(page, "members")
    first.click()
    page.wait_for_selector("#balance")
    before = int(page.locator("#balance").inner_text().replace(",", ""))

    page.get_by_label("Points (negative to take away)").fill("123")
    page.get_by_label("Reason").fill("Parcel arrived late")
    page.get_by_role("button", name="Adjust").click()

    expect(page.get_by_role("status")).to_have_text("Adjusted by 123 points.")
    assert int(page.locator("#balance").inner_text().replace(",", "")) == before + 123
    newest = page.locator("table.ledger tbody tr").first.inner_text()
    assert "adjust" in newest and "+123" in newest
    shot(page, "member")
    rows = page.locator("table.ledger tbody tr:not(#ledger-more)")
    shown = rows.count()
    page.get_by_role("link", name="Older entries").click()  # htmx appends the next page
    # the page's CSP refuses eval, so no wait_for_function with an expression: a row past
    # the first page appears
    expect(rows.nth(shown)).to_be_attached()
    assert "/console/members/" in page.url and "after=" not in page.url

    page.set_viewport_size(PHONE)
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "member-phone")
    page.set_viewport_size(LAPTOP)


REWARD_NAMES = "{ rewards(first: 100) { edges { node { name pointsCost } } } }"


def test_create_a_reward_and_see_it_in_the_rewards_query(admin, server):
    page = admin
    page.goto("/console/rewards")
    page.get_by_role("link", name="New reward").click()
    page.get_by_label("Name").fill("Browser tote bag")
    page.get_by_label("Kind").select_option("FIXED_DISCOUNT")
    page.get_by_label("Points cost").fill("250")
    page.get_by_label("Value").fill("4.00")
    shot(page, "reward-new")
    page.get_by_role("button", name="Save").click()

    page.wait_for_url("**/console/rewards?saved=*")
    expect(page.get_by_role("link", name="Browser tote bag")).to_have_count(1)
    shot(page, "rewards")
    public = httpx.post(f"{page.url.split('/console')[0]}/graphql", json={"query": REWARD_NAMES})
    names = {
        e["node"]["name"]: e["node"]["pointsCost"]
        for e in public.json()["data"]["rewards"]["edges"]
    }
    assert names["Browser tote bag"] == 250


def test_a_refused_change_shows_its_error_next_to_the_field(admin, server):
    page = admin
    before = admin_graphql(server, REWARD_NAMES)
    page.goto("/console/rewards/new")
    page.get_by_label("Name").fill("Half price")
    page.get_by_label("Kind").select_option("PERCENT_DISCOUNT")
    page.get_by_label("Points cost").fill("900")
    page.get_by_role("button", name="Save").click()

    expect(page.locator("#percent-error")).to_have_text("percent must be between 1 and 100")
    assert page.get_by_label("Percent").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Name").input_value() == "Half price"  # what was typed stays
    shot(page, "reward-refused")
    assert admin_graphql(server, REWARD_NAMES) == before


BALANCE = '{ member(externalId: "cj-2") { id pointsBalance transactions(first: 1) { edges { node { kind points } } } } }'


def test_without_the_session_or_with_a_wrong_csrf_token_nothing_changes(admin, browser, server):
    before = admin_graphql(server, BALANCE)["member"]
    url = f"/console/members/{before['id']}/adjust"
    form = {"points": "999", "reason": "should not happen"}

    wrong = admin.request.post(url, form={**form, "csrf": "forged"}, max_redirects=0)
    anonymous_context = browser.new_context(base_url=server)
    anonymous = anonymous_context.request.post(
        url, form={**form, "csrf": "forged"}, max_redirects=0
    )
    anonymous_context.close()

    assert (wrong.status, anonymous.status) == (403, 401)
    assert admin_graphql(server, BALANCE)["member"] == before


def test_every_page_opens_and_works_from_the_keyboard(admin):
    page = admin
    for name in ("programme", "segments", "deliveries", "models"):
        page.goto(f"/console/{name}")
        assert page.locator("h1").count() == 1
        shot(page, name)
    assert page.locator("table tbody tr", has_text="active").count() >= 1  # the trained model

    page.goto("/console/programme")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    for field in page.locator("input:not([type=hidden]), select, textarea").all():
        field_id = field.get_attribute("id")
        assert field_id and page.locator(f"label[for='{field_id}']").count() == 1

    page.goto("/console/segments")
    page.get_by_label("At least points").fill("1")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
