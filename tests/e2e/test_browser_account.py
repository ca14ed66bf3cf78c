"""The dashboard's Account card in a real browser: confirming the e-mail
address from the mailed link, usage against the quotas, deleting the account."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_browser import PASSWORD, open_tab, served, signup_through_form  # noqa: F401 - fixtures
from tests.mail import CONFIRM_SUBJECT, verification_token, wait_for_mail

pytestmark = pytest.mark.e2e


def test_confirm_the_address_watch_usage_and_delete_the_account(open_tab, tmp_path):  # noqa: F811
    tab = open_tab()
    page = tab.page
    signup_through_form(tab, "accountholder")
    account = page.locator("#account")
    assert account.locator("[data-email-unverified]").is_visible()
    page.get_by_role("button", name="Send me a confirmation link").click()
    expect(page.locator("#verification-state")).to_have_text(re.compile(r"^Sent"))

    message = wait_for_mail(tmp_path / "data" / "mail", CONFIRM_SUBJECT, to="accountholder@example.com")
    tab.goto(f"/verify-email?token={verification_token(message)}")
    page.get_by_role("button", name="Confirm my address").click()
    assert "is confirmed" in page.locator("[data-verified]").inner_text()
    page.get_by_role("link", name="Go to your files").click()
    assert account.locator("[data-email-verified]").is_visible()

    page.locator("#file-input").set_input_files([{"name": "notes.txt", "mimeType": "text/plain",
                                                   "buffer": b"usage " * 2000}])
    page.get_by_role("button", name="Compress").click()
    storage = account.locator('[data-quota="storage_bytes"] .usage__used')
    expect(storage).to_have_text(re.compile(r"KB$"), timeout=30_000)

    page.locator(".account__delete summary").click()
    page.get_by_label("Your password").fill("not my password")
    page.get_by_role("button", name="Delete my account").click()
    assert "nothing was deleted" in page.locator('[data-error-for="delete-password"]').inner_text()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Delete my account").click()
    page.wait_for_url(tab.base_url + "/login?notice=account_deleted")
    assert "have been deleted" in page.get_by_role("status").inner_text()
    page.get_by_label("Username or e-mail").fill("accountholder")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    assert "Wrong username or password" in page.locator('[data-error-for="password"]').inner_text()
    tab.assert_clean()
