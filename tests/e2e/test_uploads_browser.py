"""The dashboard sends a big file through the resumable API in chunks, in a
real browser against ``comprimemelo serve``: progress moves, a chunk lost on
the network is resumed from the server's offset, and the task's original is
the file byte for byte. Small limits keep it small: files above the multipart
limit (8 MB here) take the chunked path, in 1 MiB chunks.
"""

from __future__ import annotations

import pytest
import requests

from tests.e2e.test_browser import (
    DESKTOP,
    RECORD_PROGRESS,
    Tab,
    sample_bytes,
    signup_through_form,
)
from tests.processes import serving

pytestmark = pytest.mark.e2e

MAX_UPLOAD_BYTES = 8 * 1000 * 1000
CHUNK_BYTES = 1024 * 1024
FILE_BYTES = 10 * 1000 * 1000
LOST_CHUNK = 3  # the fourth chunk request is cut off once
PROCESSING_TIMEOUT_MS = 90_000


@pytest.fixture
def served(tmp_path):
    """SQLite only: the API tests cover both databases; this one is about the page."""
    with serving(
        tmp_path,
        COMPRIMEMELO_MAX_UPLOAD_BYTES=str(MAX_UPLOAD_BYTES),
        COMPRIMEMELO_UPLOAD_CHUNK_BYTES=str(CHUNK_BYTES),
    ) as (base_url, _process):
        yield base_url


def test_big_file_goes_in_chunks_and_survives_a_lost_chunk(browser, served, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    try:
        tab = Tab(context, served)
        page = tab.page
        page.add_init_script(RECORD_PROGRESS)
        signup_through_form(tab, "bigbrowser")

        chunk_requests = []

        def cut_one_chunk(route):
            request = route.request
            if request.method == "PUT" and "bytes */" not in (request.headers.get("content-range") or ""):
                chunk_requests.append(request.headers["content-range"])
                if len(chunk_requests) == LOST_CHUNK + 1:
                    route.abort("connectionreset")
                    return
            route.continue_()

        page.route("**/api/uploads/*", cut_one_chunk)
        data = sample_bytes(11, FILE_BYTES)
        path = tmp_path / "big video.bin"
        path.write_bytes(data)
        page.get_by_label("Format").select_option("zip")
        page.set_input_files("#file-input", [path])
        item = page.locator('.upload-item[data-name="big video.bin"]')
        expect(item).to_contain_text("Ready to compress")
        page.get_by_role("button", name="Compress").click()

        expect(item).to_contain_text("Uploaded ✓", timeout=PROCESSING_TIMEOUT_MS)
        row = page.locator("#task-rows tr.task").filter(has_text="big video.bin")
        expect(row.locator(".badge")).to_have_text("processed", timeout=PROCESSING_TIMEOUT_MS)

        # Every byte range went once, except the lost one, which was sent again.
        lost = chunk_requests[LOST_CHUNK]
        assert chunk_requests.count(lost) == 2, chunk_requests
        assert len(chunk_requests) == -(-FILE_BYTES // CHUNK_BYTES) + 1
        assert not any(url.endswith("/api/tasks") for url in tab.requests), "took the multipart path"
        seen = [event["value"] for event in page.evaluate("window.__progress") if event["name"] == "big video.bin"]
        assert seen[-1] == 100 and any(0 < value < 100 for value in seen), seen

        cookie = next(c for c in context.cookies() if c["name"] == "comprimemelo_session")
        original = requests.get(
            served + row.get_by_role("link", name="Original").get_attribute("href"),
            cookies={"comprimemelo_session": cookie["value"]},
            timeout=30,
        )
        assert original.status_code == 200 and original.content == data
        assert tab.errors == []
    finally:
        context.close()
