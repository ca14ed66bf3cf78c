"""The web UI in a real browser (Debian's chromium driven by Playwright)
against a real ``comprimemelo serve`` process.

Playwright's own browser downloads are never used: the tests launch the system
chromium (``COMPRIMEMELO_TEST_CHROMIUM``, default ``/usr/bin/chromium``). Without
it they skip on a laptop and fail in CI. Screenshots go to ``test-artifacts/``;
with ``COMPRIMEMELO_UPDATE_DOCS_SCREENSHOTS=1`` the dashboard shots are also
written to ``docs/`` for the README.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.archives import read_members
from tests.processes import Client, serving

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
DOCS = REPO_ROOT / "docs"
MAX_UPLOAD_BYTES = 8 * 1000 * 1000
UPLOAD_BYTES = 3 * 1000 * 1000
# Emulated uplink: a 3 MB upload takes about a second, so progress is visible.
UPLOAD_THROUGHPUT_BYTES_PER_SECOND = 3 * 1000 * 1000
PROCESSING_TIMEOUT_MS = 90_000
PASSWORD = "correct horse battery"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}

# Records every value a <progress> element takes, before any page script runs
# (init scripts are injected by the browser and are not subject to the CSP).
RECORD_PROGRESS = """
window.__progress = [];
new MutationObserver((mutations) => {
  for (const m of mutations) {
    if (m.target.localName !== "progress") continue;
    const item = m.target.closest("[data-name]");
    window.__progress.push({name: item ? item.dataset.name : "", value: Number(m.target.value)});
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["value"]});
"""


@pytest.fixture
def served(tmp_path, database_url):
    with serving(
        tmp_path,
        COMPRIMEMELO_DATABASE_URL=database_url,
        COMPRIMEMELO_MAX_UPLOAD_BYTES=str(MAX_UPLOAD_BYTES),
        # Bigger files would go through the resumable uploads: the "too large" check needs both limits.
        COMPRIMEMELO_MAX_RESUMABLE_UPLOAD_BYTES=str(MAX_UPLOAD_BYTES),
    ) as (base_url, _process):
        yield base_url


class Tab:
    """A page plus everything it reported: console messages, errors, requests."""

    def __init__(self, context, base_url: str) -> None:
        self.base_url = base_url
        self.context = context
        self.page = context.new_page()
        self.console: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.documents: set[str] = set()
        self.navigations: list[str] = []
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", self._on_request)
        self.page.on(
            "framenavigated",
            lambda frame: frame == self.page.main_frame and self.navigations.append(frame.url),
        )

    def _on_console(self, message) -> None:
        if message.type not in ("error", "warning"):
            return
        # Chromium logs a page's own 4xx status (a form shown again with its
        # errors, the 404 page) like a failed load; those statuses are deliberate.
        url = message.location.get("url", "")
        if message.text.startswith("Failed to load resource") and url in self.documents:
            return
        self.console.append(f"{message.type}: {message.text} ({message.location})")

    def _on_request(self, request) -> None:
        self.requests.append(request.url)
        if request.resource_type == "document":
            self.documents.add(request.url)

    def goto(self, path: str):
        return self.page.goto(self.base_url + path)

    def assert_clean(self) -> None:
        """No console error or warning, no uncaught exception, nothing fetched elsewhere."""
        assert self.console == []
        assert self.errors == []
        origin = urlsplit(self.base_url)[:2]
        foreign = [url for url in self.requests if urlsplit(url)[:2] != origin]
        assert foreign == [], "the page loaded resources from other origins"


@pytest.fixture
def open_tab(browser, served):
    contexts = []

    def open_(viewport=DESKTOP, **options) -> Tab:
        context = browser.new_context(viewport=viewport, accept_downloads=True, **options)
        contexts.append(context)
        return Tab(context, served)

    yield open_
    for context in contexts:
        context.close()


def sample_bytes(seed: int, size: int) -> bytes:
    """Compressible and distinct per seed: repeated text with some noise."""
    import random

    rng = random.Random(seed)
    words = [rng.randbytes(rng.randint(2, 9)).hex() for _ in range(400)]
    out = bytearray()
    while len(out) < size:
        out += " ".join(rng.choices(words, k=32)).encode() + b"\n"
    return bytes(out[:size])


def signup_through_form(tab: Tab, username: str) -> None:
    tab.goto("/")
    assert tab.page.url == tab.base_url + "/login"
    tab.page.get_by_role("link", name="Create an account").click()
    tab.page.get_by_label("Username").fill(username)
    tab.page.get_by_label("E-mail").fill(f"{username}@example.com")
    tab.page.get_by_label("Password", exact=True).fill(PASSWORD)
    tab.page.get_by_label("Confirm password").fill(PASSWORD + "typo")
    tab.page.get_by_role("button", name="Sign up").click()
    mismatch = tab.page.locator('[data-error-for="password2"]')
    assert "Passwords do not match." in mismatch.inner_text()
    assert tab.page.get_by_label("Username").input_value() == username
    tab.page.get_by_label("Password", exact=True).fill(PASSWORD)
    tab.page.get_by_label("Confirm password").fill(PASSWORD)
    tab.page.get_by_role("button", name="Sign up").click()
    tab.page.wait_for_url(tab.base_url + "/")


def login_through_form(tab: Tab, login: str, password: str = PASSWORD) -> None:
    tab.page.get_by_label("Username or e-mail").fill(login)
    tab.page.get_by_label("Password").fill(password)
    tab.page.get_by_role("button", name="Log in").click()


def test_sign_up_upload_watch_download_delete_and_log_out(open_tab, tmp_path):
    from playwright.sync_api import expect

    tab = open_tab()
    page = tab.page
    page.add_init_script(RECORD_PROGRESS)

    signup_through_form(tab, "browseruser")
    expect(page.locator("#empty-state")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You have been logged out.")).to_be_visible()

    login_through_form(tab, "browseruser", "not the password")
    expect(page.locator('[data-error-for="password"]')).to_contain_text("Wrong username or password")
    login_through_form(tab, "BrowserUser@Example.com")
    page.wait_for_url(tab.base_url + "/")

    files = {name: sample_bytes(seed, UPLOAD_BYTES) for seed, name in enumerate(["first ✓.txt", "second.csv"])}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    too_big = tmp_path / "huge.bin"
    too_big.write_bytes(b"\0" * (MAX_UPLOAD_BYTES + 1))

    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1,
         "uploadThroughput": UPLOAD_THROUGHPUT_BYTES_PER_SECOND},
    )
    tab.navigations.clear()
    page.evaluate("window.__sameDocument = true")

    page.get_by_label("Format").select_option("tar.gz")
    page.get_by_label("Level").fill("6")
    page.set_input_files("#file-input", [tmp_path / name for name in files] + [too_big])
    expect(page.locator('.upload-item[data-name="huge.bin"]')).to_contain_text("Too large")
    upload_button = page.get_by_role("button", name="Compress 2 files")
    upload_button.click()

    rows = page.locator("#task-rows tr.task")
    expect(rows.and_(page.locator('[data-status="processed"]'))).to_have_count(2, timeout=PROCESSING_TIMEOUT_MS)
    cdp.send("Network.emulateNetworkConditions",
             {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})

    # Progress was shown and moved through intermediate values up to 100 %.
    for name in files:
        bar = page.locator(f'.upload-item[data-name="{name}"] progress')
        expect(bar).to_have_attribute("value", "100")
        seen = [event["value"] for event in page.evaluate("window.__progress") if event["name"] == name]
        assert seen[-1] == 100, seen
        assert any(0 < value < 100 for value in seen), f"no intermediate progress for {name}: {seen}"
    # The statuses changed without a reload.
    assert tab.navigations == []
    assert page.evaluate("window.__sameDocument") is True

    # Newest first, with sizes, saving, badge and finish time.
    ids = [int(row.get_attribute("data-task-id")) for row in rows.all()]
    assert ids == sorted(ids, reverse=True)
    assert sorted(rows.locator(".task__name").all_inner_texts()) == sorted(files)
    first = rows.filter(has_text="first ✓.txt")
    expect(first.locator(".badge")).to_have_text("processed")
    expect(first.locator(".format")).to_have_text("tar.gz")
    expect(first.locator("td[data-label=Original]")).to_have_text("3.0 MB")
    expect(first.locator(".saving")).to_contain_text("−")
    expect(first.locator("time")).to_have_text("just now")

    with page.expect_download() as downloaded:
        first.get_by_role("link", name="Archive").click()
    download = downloaded.value
    assert download.suggested_filename == "first ✓.txt.tar.gz"
    archive = Path(download.path()).read_bytes()
    assert read_members(archive, "tar.gz") == {"first ✓.txt": files["first ✓.txt"]}

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "e2e-dashboard.png", full_page=True)

    rows.filter(has_text="second.csv").get_by_role("button", name="Delete").click()
    dialog = page.locator("#delete-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("second.csv")
    dialog.get_by_role("button", name="Delete").click()
    expect(rows).to_have_count(1)
    expect(page.locator("#toasts")).to_contain_text("Deleted second.csv")
    assert tab.navigations == []

    session = next(c for c in page.context.cookies() if c["name"] == "comprimemelo_session")
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(tab.base_url + "/login?notice=logged_out")
    revoked = requests.get(
        f"{tab.base_url}/api/tasks", cookies={"comprimemelo_session": session["value"]}, timeout=10
    )
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "token_revoked"
    tab.goto("/")
    assert page.url == tab.base_url + "/login"

    assert any(url.endswith("/static/app.css") for url in tab.requests)
    assert any(url.endswith("/static/dashboard.js") for url in tab.requests)
    tab.assert_clean()


def test_error_page_and_keyboard_navigation(open_tab):
    from playwright.sync_api import expect

    tab = open_tab()
    page = tab.page
    response = tab.goto("/no/such/page")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "error-404.png")

    tab.goto("/login")
    expect(page.get_by_label("Username or e-mail")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.type("nobody")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type("wrong password")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Log in")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator('[data-error-for="password"]')).to_contain_text("Wrong username or password")
    expect(page.get_by_label("Password")).to_be_focused()
    page.screenshot(path=ARTIFACTS / "login-error.png")
    tab.assert_clean()


def test_dashboard_screenshots_on_desktop_and_phone(open_tab, served, tmp_path):
    """Processed tasks as a user sees them; also the images in ``docs/``."""
    from playwright.sync_api import expect

    client = Client(served)
    client.signup_and_login("maria")
    samples = [
        ("quarterly-report.pdf", "zip", 900_000),
        ("holiday-photos.tar", "7z", 2_400_000),
        ("server-logs-march.log", "tar.zst", 5_200_000),
        ("customers.csv", "tar.xz", 640_000),
        ("thesis-draft.docx", "tar.gz", 310_000),
    ]
    ids = []
    for seed, (name, fmt, size) in enumerate(samples):
        path = tmp_path / name
        path.write_bytes(sample_bytes(seed, size))
        ids.append(client.upload(path, fmt)["id"])
    client.wait_finished(ids)

    ARTIFACTS.mkdir(exist_ok=True)
    shots = {}
    views = [
        ("dashboard", DESKTOP, {"color_scheme": "light"}),
        ("dashboard-dark", DESKTOP, {"color_scheme": "dark"}),
        ("dashboard-mobile", PHONE, {"color_scheme": "light", "device_scale_factor": 2}),
    ]
    for label, viewport, options in views:
        tab = open_tab(viewport=viewport, **options)
        tab.goto("/login")
        login_through_form(tab, "maria")
        tab.page.wait_for_url(tab.base_url + "/")
        expect(tab.page.locator('#task-rows tr[data-status="processed"]')).to_have_count(len(samples))
        overflow = tab.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{label}: the page scrolls sideways by {overflow}px"
        shots[label] = ARTIFACTS / f"{label}.png"
        tab.page.screenshot(path=shots[label], full_page=viewport is PHONE)
        tab.assert_clean()

    if os.environ.get("COMPRIMEMELO_UPDATE_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        for label, path in shots.items():
            shutil.copyfile(path, DOCS / f"{label}.png")


def test_the_dashboards_poll_revalidates_a_list_that_has_not_changed(browser, tmp_path, database_url):
    """No worker runs, so the task stays ``uploaded`` and the dashboard keeps
    polling an unchanged list: the browser sends back the ``ETag`` it holds,
    and the server answers 304 without the body."""
    with serving(tmp_path, "--no-worker", COMPRIMEMELO_DATABASE_URL=database_url) as (base_url, process):
        client = Client(base_url)
        client.signup_and_login("watcher")
        path = tmp_path / "notes.txt"
        path.write_bytes(sample_bytes(7, 10_000))
        client.upload(path, "zip")
        context = browser.new_context(viewport=DESKTOP)
        try:
            tab = Tab(context, base_url)
            polls = []
            tab.page.on("requestfinished", lambda request: "/api/tasks" in request.url and polls.append(request))
            tab.goto("/login")
            login_through_form(tab, "watcher")
            tab.page.wait_for_url(base_url + "/")
            for _ in range(100):  # the dashboard polls once a second while a task is on its way
                if len(polls) >= 3:
                    break
                tab.page.wait_for_timeout(100)
            assert len(polls) >= 3, polls
            later = polls[1:]
            assert all("if-none-match" in request.all_headers() for request in later)
            assert "GET /api/tasks 304 " in process.output()  # the server's access log
            assert tab.page.locator('#task-rows tr[data-status="uploaded"]').count() == 1
            tab.assert_clean()
        finally:
            context.close()
