"""The dashboard's pages a person sees, found in the app's URL map so a new page is checked
without editing the tests that walk them (accessibility, language)."""

from __future__ import annotations

from flask import Flask

# Endpoints that answer a GET with something other than a staff page for a logged-in admin.
NOT_PAGES = {
    "healthz",
    "screen_api.events",  # the screen's event stream
    "screens.service_worker",
    "auth.login",  # a logged-out page
    "screens.screen",  # what a screen sees
    "portal.campaigns",  # the buyer's portal
    "test_crash",  # a test's own crashing page
}


def staff_pages(app: Flask) -> list[str]:
    """Every GET page without a URL parameter, outside the JSON API and NOT_PAGES."""
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and not rule.arguments
        and not rule.rule.startswith("/api/")
        and rule.endpoint not in NOT_PAGES
    )


CRASH_PAGE = "/test-crash"


def with_crash_page(app: Flask) -> Flask:
    """`app` with a page whose view fails, answered as in production (the styled 500)."""

    def crash():
        raise RuntimeError("a view bug")

    app.add_url_rule(CRASH_PAGE, "test_crash", crash)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app
