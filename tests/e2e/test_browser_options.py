"""The dashboard's task options in a real browser (Debian's chromium, as in
``test_browser``) against one ``comprimemelo serve`` for the module: one
archive for many files, speed presets with a password, retention, live
progress of a processing task, and the notification settings.

SQLite only: the API tests cover both databases; these are about the page.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import zipfile
from pathlib import Path

import pytest
import requests

from tests.archives import read_members
from tests.e2e.test_browser import (
    DESKTOP,
    Tab,
    login_through_form,
    sample_bytes,
)
from tests.processes import Client, serving

pytestmark = pytest.mark.e2e

MAX_UPLOAD_BYTES = 16 * 1000 * 1000
SLOW_FILE_BYTES = 12 * 1000 * 1000  # random bytes at tar.xz level 9: several seconds of work
PROCESSING_TIMEOUT_MS = 90_000
ARCHIVE_PASSWORD = "open sesame 42"
WINZIP_AES_METHOD = 99
USERNAME = "optionsuser"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serving(
        tmp_path_factory.mktemp("options"),
        COMPRIMEMELO_MAX_UPLOAD_BYTES=str(MAX_UPLOAD_BYTES),
        COMPRIMEMELO_WEBHOOK_ALLOW_PRIVATE="on",
    ) as (base_url, _process):
        yield base_url


@pytest.fixture(scope="module")
def signed_in(browser, served):  # noqa: F811
    """A browser context with a session for ``USERNAME``, shared by the module's tests."""
    Client(served).signup_and_login(USERNAME)
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    tab = Tab(context, served)
    tab.goto("/login")
    login_through_form(tab, USERNAME)
    tab.page.wait_for_url(served + "/")
    tab.page.close()
    yield context
    context.close()


@pytest.fixture
def tab(signed_in, served):
    """A fresh dashboard page in the signed-in context; clean when the test ends."""
    opened = Tab(signed_in, served)
    opened.goto("/")
    yield opened
    opened.assert_clean()
    opened.page.close()


def api(tab: Tab, path: str):
    """``GET path`` with the page's session cookie (reads need no CSRF token)."""
    cookie = next(c for c in tab.context.cookies() if c["name"] == "comprimemelo_session")
    response = requests.get(tab.base_url + path, cookies={cookie["name"]: cookie["value"]}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def task_row(tab: Tab, name: str):
    return tab.page.locator("#task-rows tr.task").filter(has=tab.page.locator(".task__name", has_text=name))


def download_archive(tab: Tab, row) -> tuple[str, bytes]:
    with tab.page.expect_download() as downloaded:
        row.get_by_role("link", name="Archive").click()
    download = downloaded.value
    return download.suggested_filename, Path(download.path()).read_bytes()


def test_two_files_go_into_one_archive_and_too_much_together_is_refused(tab, tmp_path):
    from playwright.sync_api import expect

    page = tab.page
    files = {"alpha.txt": sample_bytes(1, 50_000), "beta.csv": sample_bytes(2, 70_000)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    page.get_by_label("Format").select_option("tar.gz")
    page.get_by_label("One archive for all files").check()
    page.set_input_files("#file-input", [tmp_path / name for name in files])
    page.get_by_role("button", name="Compress 2 files into one archive").click()

    batch = page.locator(".upload-item--batch")
    expect(batch).to_contain_text("One archive of 2 files")
    expect(batch.locator("progress")).to_have_attribute("value", "100")
    row = task_row(tab, "alpha.txt + 1 more")
    expect(row).to_have_count(1)
    expect(row.locator(".task__files li")).to_have_text(list(files))
    expect(row).to_have_attribute("data-status", "processed", timeout=PROCESSING_TIMEOUT_MS)
    name, archive = download_archive(tab, row)
    assert re.fullmatch(r"archive-\d+\.tar\.gz", name)
    assert read_members(archive, "tar.gz") == files

    # Together over the multipart limit: said at once, nothing is sent; one by one is fine.
    big = [tmp_path / "big-1.bin", tmp_path / "big-2.bin"]
    for path in big:
        path.write_bytes(b"\0" * (MAX_UPLOAD_BYTES // 2 + 1))
    page.set_input_files("#file-input", big)
    expect(page.get_by_role("alert")).to_contain_text("one archive can take at most")
    expect(page.locator("#upload-button")).to_be_disabled()
    page.get_by_label("One archive for all files").uncheck()
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(page.get_by_role("button", name="Compress 2 files")).to_be_enabled()


def test_smallest_preset_with_a_password_makes_an_encrypted_zip(tab, tmp_path):
    import pyzipper
    from playwright.sync_api import expect

    page = tab.page
    data = sample_bytes(3, 120_000)
    (tmp_path / "secret.txt").write_bytes(data)
    password = page.get_by_label("Archive password")
    page.get_by_label("Format").select_option("tar.gz")
    expect(password).to_be_disabled()
    page.get_by_label("Format").select_option("zip")
    expect(password).to_be_enabled()
    expect(page.locator("#password-hint")).to_have_text("AES-256; never stored — keep it safe.")
    page.get_by_label("Speed").select_option("smallest")
    expect(page.locator("#preset-hint")).to_have_text("Level 9 for zip.")
    password.fill(ARCHIVE_PASSWORD)
    page.set_input_files("#file-input", [tmp_path / "secret.txt"])
    page.get_by_role("button", name="Compress").click()

    row = task_row(tab, "secret.txt")
    expect(row.get_by_role("img", name="encrypted")).to_be_visible()
    expect(row).to_have_attribute("data-status", "processed", timeout=PROCESSING_TIMEOUT_MS)
    task = api(tab, f"/api/tasks/{row.get_attribute('data-task-id')}")
    assert task["encrypted"] is True and task["level"] == 9
    name, archive = download_archive(tab, row)
    assert name == "secret.txt.zip"
    with pyzipper.AESZipFile(io.BytesIO(archive)) as opened:
        opened.setpassword(ARCHIVE_PASSWORD.encode())
        assert opened.read("secret.txt") == data
    with zipfile.ZipFile(io.BytesIO(archive)) as plain:  # AES (method 99), not ZipCrypto
        assert plain.getinfo("secret.txt").compress_type == WINZIP_AES_METHOD


def test_keep_files_for_sets_when_the_task_expires(tab, tmp_path):
    from playwright.sync_api import expect

    page = tab.page
    (tmp_path / "short-lived.txt").write_bytes(b"gone tomorrow\n" * 100)
    retention = page.get_by_label("Keep files for")
    expect(retention.locator("option:checked")).to_have_text("7 days (default)")
    retention.select_option(label="1 day")
    page.set_input_files("#file-input", [tmp_path / "short-lived.txt"])
    sent = dt.datetime.now(dt.timezone.utc)
    page.get_by_role("button", name="Compress").click()

    row = task_row(tab, "short-lived.txt")
    expect(row.locator(".task__expires")).to_have_text("in 1 day")
    task = api(tab, f"/api/tasks/{row.get_attribute('data-task-id')}")
    expires = dt.datetime.fromisoformat(task["expires_at"].replace("Z", "+00:00"))
    assert abs(expires - (sent + dt.timedelta(hours=24))) < dt.timedelta(minutes=2)


def test_a_processing_task_shows_its_progress_updated_in_place(tab, tmp_path):
    """The bar appears while the worker really is on the task. The worker reads
    its input long before the compressor is done, so the percents it reports
    leap; the poll answers are rewritten (37, then 64) to watch the row follow
    a change of percent alone without being rebuilt."""
    from playwright.sync_api import expect

    page = tab.page
    shown = {"progress": 37}

    def rewrite_progress(route):
        response = route.fetch()
        tasks = response.json()
        for task in tasks:
            if task["filename"] == "noise.bin" and task["status"] == "processing" and shown["progress"]:
                task["progress"] = shown["progress"]
        route.fulfill(response=response, json=tasks)

    page.route(re.compile(r"/api/tasks\?"), rewrite_progress)
    (tmp_path / "noise.bin").write_bytes(random.Random(4).randbytes(SLOW_FILE_BYTES))
    page.get_by_label("Format").select_option("tar.xz")
    page.get_by_label("Level").fill("9")
    page.set_input_files("#file-input", [tmp_path / "noise.bin"])
    page.get_by_role("button", name="Compress").click()

    row = task_row(tab, "noise.bin")
    bar = row.get_by_role("progressbar", name="Compression of noise.bin")
    expect(bar).to_have_attribute("value", "37", timeout=PROCESSING_TIMEOUT_MS)
    expect(row.locator(".task__percent")).to_have_text("37%")
    expect(row.locator(".badge")).to_have_text("processing")
    bar.evaluate("node => { node.dataset.seen = 'yes'; }")
    row.get_by_role("button", name="Delete").focus()

    shown["progress"] = 64
    expect(bar).to_have_attribute("value", "64")
    expect(row.locator(".task__percent")).to_have_text("64%")
    expect(bar).to_have_attribute("data-seen", "yes")  # the same element: updated, not rebuilt
    expect(row.get_by_role("button", name="Delete")).to_be_focused()

    shown["progress"] = None
    expect(row).to_have_attribute("data-status", "processed", timeout=PROCESSING_TIMEOUT_MS)
    expect(bar).to_have_count(0)
    page.unroute(re.compile(r"/api/tasks\?"))


def test_notification_settings_are_saved_and_the_secret_shown_once(tab):
    from playwright.sync_api import expect

    page = tab.page
    hook = "http://127.0.0.1:9/comprimemelo-hook"
    page.get_by_text("Notifications", exact=True).click()
    email = page.get_by_label("E-mail me at")
    expect(email).to_be_enabled()
    email.check()
    page.get_by_label("Webhook URL").fill(hook)
    page.get_by_role("button", name="Save notifications").click()

    secret_box = page.locator("#webhook-secret-box")
    expect(secret_box).to_contain_text("copy it now, it is not shown again")
    expect(page.locator("#webhook-secret")).to_have_text(re.compile(r"\S{16,}"))
    expect(page.locator("#notifications-state")).to_have_text("Saved ✓")
    stored = api(tab, "/api/notifications")
    assert stored["email"] is True and stored["webhook_url"] == hook and stored["webhook_secret_set"] is True

    page.reload()
    page.get_by_text("Notifications", exact=True).click()
    expect(page.get_by_label("E-mail me at")).to_be_checked()
    expect(page.get_by_label("Webhook URL")).to_have_value(hook)
    expect(secret_box).to_be_hidden()
    expect(page.locator("#webhook-disabled")).to_be_hidden()
