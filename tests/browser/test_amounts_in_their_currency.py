"""Amounts on a contact's profile name their currency: a contact with a cart in dollars and no order
yet has a lifetime value of "$0.00", not a bare "0.00" beside "$20.00", on the profile and in the list."""

import pytest
from playwright.sync_api import expect

from tests.delivery.conftest import cart, make_contact

# The page is the same on either database and its server side is tested on both (tests/api, the
# apps' own tests): in the browser once, in the first half of .ci/run.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_half]


def test_the_lifetime_value_is_in_the_currency_of_the_cart_before_any_order(page_for, workspace, admin):
    lines = cart(("SKU-1001", 2, 10.0, "Trail Running Shoe"))
    contact = make_contact(workspace, cart={**lines, "quantity": 2, "total": 20.0})

    page = page_for(admin)
    page.goto(f"/contacts/{contact.pk}")

    stats = page.locator(".stats .stat")
    expect(stats.filter(has_text="Lifetime value").locator("strong")).to_have_text("$0.00")
    expect(stats.filter(has_text="Cart").locator("strong")).to_have_text("$20.00")

    page.goto("/contacts")  # the list says it the same way
    row = page.get_by_role("row").filter(has_text=contact.email)
    expect(row).to_be_visible()
    lifetime = page.get_by_role("columnheader").all_text_contents().index("Lifetime value")
    expect(row.get_by_role("cell").nth(lifetime)).to_have_text("$0.00")
    assert page.console_errors == []
