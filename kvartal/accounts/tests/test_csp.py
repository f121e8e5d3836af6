"""The Content-Security-Policy holds on every page: no inline scripts, styles or handlers.

The header forbids them, so a page that still has one is broken in the browser. This walks
every URL of the URL × role table as an administrator (who may open nearly all of them) and
reads the HTML: a new inline <script>, <style>, on*= handler or style="…" fails here first.
"""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from kvartal.accounts.tests.test_access import PAGES, objects  # noqa: F401
from kvartal.core.testing import make_user

EXTRA = [
    "admin:index",
    "admin:accounts_user_changelist",
    "admin:accounts_user_add",
    "api-v1:openapi-view",
]


class InlineFinder(HTMLParser):
    """Collects what the policy would block: inline code and style attributes."""

    def __init__(self, nonce: str | None):
        super().__init__()
        self.nonce = nonce
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
        if "style" in attrs:
            self.found.append(f"<{tag} style=…>")
        nonced = self.nonce is not None and attrs.get("nonce") == self.nonce
        data_block = attrs.get("type") in ("application/json", "application/ld+json")
        if tag == "script" and "src" not in attrs and not nonced and not data_block:
            self.found.append("<script> without src")
        if tag == "style" and not nonced:
            self.found.append("<style> without the nonce")


def inline_code(response) -> list[str]:
    policy = response.headers.get("Content-Security-Policy", "")
    nonce = None
    if "'nonce-" in policy:
        nonce = policy.split("'nonce-", 1)[1].split("'", 1)[0]
    finder = InlineFinder(nonce)
    finder.feed(response.content.decode())
    return finder.found


def test_the_sign_in_page_has_no_inline_code(client, db):
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    assert inline_code(response) == []


def test_the_policy_is_strict(client, db):
    response = client.get(reverse("accounts:login"))
    policy = response.headers["Content-Security-Policy"]
    directives = dict(
        (part.strip().split(" ", 1) + [""])[:2] for part in policy.split(";") if part.strip()
    )
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert directives["script-src"].startswith("'self'")
    assert directives["style-src"].startswith("'self'")
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_no_page_has_inline_code(client, objects, name):  # noqa: F811
    _who, key, *_flags = PAGES[name]
    client.force_login(make_user("admin"))
    response = client.get(reverse(name, kwargs=objects[key] if key else None))
    assert response.status_code < 500
    if response.status_code != 200 or "html" not in response.headers.get("Content-Type", ""):
        pytest.skip(f"not an HTML page for an administrator ({response.status_code})")
    assert "Content-Security-Policy" in response.headers
    assert inline_code(response) == []


@pytest.mark.parametrize("name", EXTRA)
def test_admin_and_api_pages_have_no_inline_code(client, db, name):
    client.force_login(make_user("admin"))
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert inline_code(response) == []
