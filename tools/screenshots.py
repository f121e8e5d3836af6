"""Take the README's screenshots from a running demo (``make run``), in Russian.

    .venv/bin/python tools/screenshots.py http://127.0.0.1:8000 docs/screenshots

Signs in as the demo users (password ``kvartal``) and saves one PNG per page. Pages that need a
step the demo cannot guarantee (2FA enrolment for the administrator) are skipped with a note.
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE, OUT = sys.argv[1].rstrip("/"), Path(sys.argv[2])
PASSWORD = "kvartal"

# (file, login or None for the public, path, full page). A path is a page, or a page and the
# links to follow from it, first match each (a demo object whose id is not known in advance).
FIRST_BUILDING = ("/app/", "a[href*='/app/buildings/']")
SHOTS = [
    ("showcase.png", None, "/", False),
    ("showcase-unit.png", None, ("/", "a[href*='/units/'], a[href*='/unit/']"), True),
    ("my-day.png", "manager", "/app/my-day/", False),
    ("projects.png", "head", "/app/", False),
    ("chessboard.png", "manager", FIRST_BUILDING, False),
    (
        "chessboard-card.png",
        "manager",
        (*FIRST_BUILDING, ".board .cell.st-available a"),
        False,
    ),
    (
        "hold.png",
        "manager",
        (*FIRST_BUILDING, ".board .cell.st-available a", "a.hold-button"),
        False,
    ),
    ("deal.png", "manager", ("/app/deals/", "table a[href*='/app/deals/']"), True),
    ("cashier.png", "cashier", "/app/cashier/", False),
    ("parking.png", "keeper", ("/app/", "a[href*='/app/buildings/']:has-text('Паркинг')"), False),
    ("clients.png", "manager", "/app/clients/", False),
    ("client.png", "manager", ("/app/clients/", "table a[href*='/app/clients/']"), True),
    ("leads.png", "operator", "/app/leads/", False),
    ("search.png", "manager", "/app/units/?rooms=2", False),
    ("generator.png", "keeper", (*FIRST_BUILDING, "a[href*='/sections/generate/']"), False),
    ("sheet.png", "keeper", (*FIRST_BUILDING, "a[href$='/sheet/']"), True),
    # A director signs in with a second factor: the sales head reads the same reports.
    ("dashboard.png", "head", "/app/dashboard/", True),
    ("reports.png", "head", "/app/reports/", False),
    ("report-sales.png", "head", "/app/reports/sales/", True),
    ("report-collections.png", "head", "/app/reports/collections/", True),
    ("report-builder.png", "head", "/app/reports/builder/", False),
    ("call-panel.png", "operator", "/app/calls/", False),
    ("feeds.png", "marketer", "/app/feeds/yandex/", False),
    ("pricing.png", "head", "/app/pricing/", False),
    ("agency-cabinet.png", "agent", "/app/agencies/cabinet/", False),
    ("two-factor.png", "manager", "/accounts/security/", False),
]
# The phone: the manager's chessboard at 390 px.
PHONE = {"phone.png"}
SHOTS.append(("phone.png", "manager", FIRST_BUILDING, False))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for name, login, path, full in SHOTS:
            size = (
                {"width": 390, "height": 844} if name in PHONE else {"width": 1400, "height": 900}
            )
            context = browser.new_context(base_url=BASE, locale="ru-RU", viewport=size)
            page = context.new_page()
            page.set_default_timeout(20_000)
            try:
                if login:
                    page.goto("/accounts/login/")
                    page.fill("input[name=username]", login)
                    page.fill("input[name=password]", PASSWORD)
                    page.click("button[type=submit]")
                    page.wait_for_load_state("networkidle")
                start, *steps = (path,) if isinstance(path, str) else path
                page.goto(start)
                for step in steps:
                    page.wait_for_load_state("networkidle")
                    page.locator(step).first.click()
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(OUT / name), full_page=full)
                print("saved", name, page.url)
            except Exception as error:  # noqa: BLE001 - a missing page is reported, not fatal
                print("skipped", name, type(error).__name__, str(error)[:120])
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
