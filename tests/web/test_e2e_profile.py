"""End to end in a real browser: the card's profile tabs. An agent adds an account with
its data, relates two customers and sees the relation from both sides, uploads a file and
finds it in the attachments tab, and reads the personal data tab. Same server and browser
set-up as test_e2e.py (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.web.test_e2e import PASSWORD, USER, page, server, sync_api  # noqa: F401

pytestmark = pytest.mark.slow


def _log_in(tab, base: str) -> None:
    tab.goto(f"{base}/login")
    tab.get_by_label("Username").fill(USER)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.locator("form[action='/login'] button[type=submit]").click()
    tab.wait_for_url(re.compile(r"/customers"))


def test_the_profile_tabs_in_the_browser(sync_api, server, page, tmp_path: Path):  # noqa: F811
    expect = sync_api.expect
    base = server.url
    _log_in(page, base)
    jorge = page.locator("#results a", has_text="Jorge").first.get_attribute("href")
    jorge_id = jorge.rsplit("/", 1)[-1]
    page.locator("#results a", has_text="Oliver").first.click()
    page.wait_for_load_state()
    oliver_url = page.url

    # An account, with its additional data shown field by field.
    page.locator(".tabs a[data-tab=accounts]").click()
    expect(page.locator("#tab-panel[data-tab=accounts]")).to_be_visible()
    page.locator("#acc-number").fill("GB-4471-9921")
    page.locator("#acc-type").fill("contract")
    page.locator("#acc-data").fill("plan = Fibre 600\nsince = 2021-03-01")
    page.locator("#tab-panel form.add-form button[type=submit]").click()
    expect(page.locator("#accounts")).to_contain_text("GB-4471-9921")
    expect(page.locator("#accounts")).to_contain_text("Fibre 600")

    # A relation, seen from the other card too.
    page.locator(".tabs a[data-tab=related]").click()
    page.locator("#rel-other_id").fill(jorge_id)
    page.locator("#rel-labels").fill("brother-in-law")
    page.locator("#tab-panel form.add-form button[type=submit]").click()
    expect(page.locator("#relations")).to_contain_text("Jorge")
    page.locator("#relations a", has_text="Jorge").click()
    page.wait_for_load_state()
    page.locator(".tabs a[data-tab=related]").click()
    expect(page.locator("#relations")).to_contain_text("Oliver")
    expect(page.locator("#relations")).to_contain_text("brother-in-law")

    # A file uploaded from the card is listed and downloads.
    page.goto(f"{oliver_url}/attachments")
    upload = tmp_path / "signed-contract.pdf"
    upload.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
    page.locator("#att-file").set_input_files(str(upload))
    page.locator("form.upload button[type=submit]").click()
    expect(page.locator("#attachments")).to_contain_text("signed-contract.pdf")
    with page.expect_download() as download:
        page.locator("#attachments a", has_text="signed-contract.pdf").click()
    assert download.value.suggested_filename == "signed-contract.pdf"
    assert Path(download.value.path()).read_bytes() == upload.read_bytes()

    # The personal data tab gathers what is held.
    page.locator(".tabs a[data-tab=personal-data]").click()
    expect(page.locator("#personal-contact-points")).to_contain_text("+447911123456")
    expect(page.locator("#personal-counts")).to_contain_text("GB-4471-9921")
