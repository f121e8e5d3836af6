"""The main menu in a real browser: one row at 1440 px for the roles with the longest menus
of sales, in each language; below 900 px a real button opens it, from the keyboard, and says
whether it is open."""

import pytest
from playwright.sync_api import expect

from kvartal.accounts.models import Role
from kvartal.testing import browser_sign_in, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHAPE = """() => {
  const links = [...document.querySelectorAll(".mainnav a")];
  const rect = el => document.querySelector(el).getBoundingClientRect();
  return {
    links: links.length,
    rows: new Set(links.map(a => Math.round(a.getBoundingClientRect().top))).size,
    // the tools (search, languages, the user) stay on the brand's row, above the menu
    tools_beside_brand: Math.abs(rect(".topbar-right").top - rect(".brand").top) < 16,
  };
}"""


@pytest.fixture
def open_page(browser, live_server):
    contexts = []

    def do(user, *, locale="en-US", width=1440):
        context = browser.new_context(
            base_url=live_server.url, locale=locale, viewport={"width": width, "height": 900}
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        browser_sign_in(page, user)
        return page

    yield do
    for context in contexts:
        context.close()


@pytest.mark.parametrize("locale", ["ru-RU", "en-US", "zh-CN"])
@pytest.mark.parametrize("role", [Role.SALES_MANAGER, Role.SALES_HEAD, Role.DIRECTOR])
def test_the_main_menu_is_one_row_at_1440_px(open_page, role, locale):
    page = open_page(make_user(role), locale=locale)
    shape = page.evaluate(SHAPE)
    assert shape == {"links": shape["links"], "rows": 1, "tools_beside_brand": True}
    assert shape["links"] > 10


def test_below_900_px_a_button_opens_the_menu_from_the_keyboard(open_page):
    page = open_page(make_user(Role.SALES_MANAGER), width=800)
    menu = page.locator("#mainnav")
    button = page.get_by_role("button", name="Menu")
    expect(menu).to_be_hidden()
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_have_attribute("aria-controls", "mainnav")
    # Tab from the top of the page: the skip link, the brand, then the menu's button.
    page.locator("body").focus()
    for _ in range(3):
        page.keyboard.press("Tab")
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(menu).to_be_visible()
    page.keyboard.press("Tab")
    expect(menu.get_by_role("link").first).to_be_focused()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Space")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_hidden()
