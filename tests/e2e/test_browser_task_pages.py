"""The dashboard's task list a page at a time, in a real chromium against a real
``comprimemelo serve``: the first page only, "Load more" along the ``Link``
header, and a status filter and a file-name search that start again from the
first page. No worker runs, so the tasks stay ``uploaded`` (the dashboard keeps
polling) except the few the test marks failed in the database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.test_browser import DESKTOP, PHONE, Tab, login_through_form
from tests.processes import Client, serving

pytestmark = pytest.mark.e2e

TASKS = 120
PAGE_SIZE = 50  # the dashboard's (ui/pages.DASHBOARD_PAGE_SIZE)
FAILED = 3


def row_ids(tab: Tab) -> list[int]:
    return [int(value) for value in tab.page.locator("#task-rows tr").evaluate_all(
        "(rows) => rows.map((row) => row.dataset.taskId)")]


def wait_for_rows(tab: Tab, count: int) -> None:
    expect(tab.page.locator("#task-rows tr")).to_have_count(count, timeout=15_000)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_dashboard_pages_filters_and_searches_its_task_list(browser, tmp_path, database_url, viewport):
    with serving(tmp_path, "--no-worker", COMPRIMEMELO_DATABASE_URL=database_url) as (base_url, _process):
        client = Client(base_url)
        client.signup_and_login("pager")
        path = tmp_path / "notes.txt"
        path.write_bytes(b"some notes\n" * 100)
        ids = [client.upload(path, "zip", name=f"file-{n:03}.txt")["id"] for n in range(TASKS)]
        newest_first = sorted(ids, reverse=True)
        failed = newest_first[-FAILED:]  # on the last page, not on the first
        engine = sa.create_engine(database_url)
        with engine.begin() as connection:
            mark_failed = sa.text("UPDATE tasks SET status = 'failed' WHERE id IN :ids")
            connection.execute(mark_failed.bindparams(sa.bindparam("ids", expanding=True)), {"ids": failed})
        engine.dispose()

        context = browser.new_context(viewport=viewport)
        try:
            tab = Tab(context, base_url)
            tab.goto("/login")
            login_through_form(tab, "pager")
            tab.page.wait_for_url(base_url + "/")
            more = tab.page.get_by_role("button", name="Load more")

            assert row_ids(tab) == newest_first[:PAGE_SIZE]  # the server's first page only
            more.click()
            wait_for_rows(tab, 2 * PAGE_SIZE)
            tab.page.wait_for_timeout(2500)  # polls of the unchanged first page keep what was loaded
            assert row_ids(tab) == newest_first[:2 * PAGE_SIZE]
            more.click()
            wait_for_rows(tab, TASKS)
            assert row_ids(tab) == newest_first
            assert more.is_hidden()  # no page follows the last

            tab.page.get_by_label("Status").select_option("failed")
            wait_for_rows(tab, FAILED)
            assert row_ids(tab) == failed and more.is_hidden()

            tab.page.get_by_label("Status").select_option("")
            tab.page.get_by_label("File name").fill("file-07")  # file-070 .. file-079
            wait_for_rows(tab, 10)
            assert row_ids(tab) == sorted(ids[70:80], reverse=True)
            tab.page.get_by_label("File name").fill("no such file")
            wait_for_rows(tab, 0)
            assert tab.page.locator("#no-match").is_visible()
            assert tab.page.locator("#empty-state").is_hidden()

            tab.page.get_by_label("File name").fill("")
            wait_for_rows(tab, PAGE_SIZE)  # from the first page again
            assert row_ids(tab) == newest_first[:PAGE_SIZE] and more.is_visible()
            if viewport is PHONE:
                width = tab.page.evaluate("document.documentElement.scrollWidth")
                assert width <= PHONE["width"], "the filters push the page wider than the phone"
            tab.assert_clean()
        finally:
            context.close()
