"""Signing in and out, the overview, and what each role may do, in a real browser."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from fixtures import a11y
from logisync.domain.change import now_us
from logisync.store.base import NewException


def test_sign_in_shows_the_overview_with_its_routes(hub, page):
    page.goto(f"{hub.url}/")
    expect(page).to_have_url(re.compile(r"/ui/login\?next="))
    hub.login(page, "operator")
    expect(page).to_have_url(f"{hub.url}/ui/")
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_contain_text("operator")
    routes = page.locator("#routes tbody tr")
    expect(routes).to_have_count(2)
    expect(page.locator("#routes")).to_contain_text("stock-to-shop")
    expect(page.locator("tr[data-route=orders-to-erp]")).to_contain_text("shadow")
    expect(page.get_by_role("img", name=re.compile("Systems and routes"))).to_be_visible()
    # the charts were drawn by the vendored uPlot (a script error would leave them empty)
    expect(page.locator("#overview-charts figure").first.locator(".uplot")).to_have_count(1)


def test_a_wrong_password_is_refused(hub, page):
    page.goto(f"{hub.url}/ui/login")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill(hub.password + "x")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
    expect(page).to_have_url(f"{hub.url}/ui/login")
    page.goto(f"{hub.url}/ui/")
    expect(page).to_have_url(re.compile(r"/ui/login"))


def test_a_viewer_sees_no_actions_and_a_forged_post_is_403(hub, page):
    hub.login(page, "viewer")
    expect(page.locator("#routes")).to_be_visible()
    expect(page.locator("main button")).to_have_count(0)  # sign out lives in the header
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    token = page.locator("form[action$='/logout'] input[name=csrf]").get_attribute("value")
    forged = page.request.post(
        f"{hub.url}/ui/users/add",
        form={"name": "mallory", "role": "admin", "password": "x" * 12, "csrf": token},
        max_redirects=0,
    )
    assert forged.status == 403
    assert page.request.get(f"{hub.url}/ui/users", max_redirects=0).status == 403


def test_an_admin_acts_and_a_post_without_the_csrf_token_is_403(hub, page):
    hub.login(page, "admin")
    page.get_by_role("link", name="Users").click()
    page.get_by_label("Name", exact=True).fill("newbie")
    page.get_by_label("Password (at least 10 characters)").fill("a long enough password")
    page.get_by_role("button", name="Add user").click()
    expect(page.locator("tr[data-user=newbie]")).to_contain_text("active")
    expect(page.locator("main")).to_contain_text("user:admin")  # in the audit log
    forged = page.request.post(
        f"{hub.url}/ui/users/add",
        form={"name": "mallory", "role": "admin", "password": "x" * 12},
        max_redirects=0,
    )
    assert forged.status == 403
    expect(page.locator("tr[data-user=mallory]")).to_have_count(0)


def test_keyboard_reaches_the_sign_in_form_and_the_nav(hub, page):
    page.goto(f"{hub.url}/ui/login")
    page.keyboard.type("viewer")  # the name field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(hub.password)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{hub.url}/ui/")
    page.keyboard.press("Tab")
    expect(page.locator(".skip")).to_be_focused()


def test_logout(hub, page):
    hub.login(page, "operator")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{hub.url}/ui/login")
    page.goto(f"{hub.url}/ui/")
    expect(page).to_have_url(re.compile(r"/ui/login\?next="))


REFRESH = (  # what htmx's poll does every 10 s, now: fetch the live part and swap it in
    "htmx.ajax('GET', document.getElementById('overview-live').getAttribute('hx-get'), "
    "{target: '#overview-live', swap: 'outerHTML'})"
)


def test_the_overview_refreshes_itself_and_links_exceptions_to_the_inbox(hub, page):
    hub.login(page, "viewer")
    expect(page.locator("main")).to_contain_text("No open exceptions.")
    with hub.store.write() as tx:
        tx.open_exceptions(
            [NewException("validation", "on_hand: -1 is below 0", "inventory", "SKU-9@DC1")], now_us()
        )
    page.evaluate(REFRESH)
    link = page.locator("#exceptions-by-kind a")
    expect(link).to_have_text("validation")
    expect(page.locator("#exceptions-by-kind")).to_contain_text("validation: 1")
    assert link.get_attribute("href") == "/ui/exceptions?kind=validation"
    hub.store._execute("DELETE FROM sessions")  # the session ends while the page is open
    page.evaluate(REFRESH)
    expect(page).to_have_url(re.compile(r"/ui/login\?next="))


def test_the_pages_meet_the_accessibility_basics(hub, page):
    page.goto(f"{hub.url}/ui/login")
    assert a11y.problems(page) == []
    hub.login(page, "admin")
    assert a11y.problems(page) == []
    page.goto(f"{hub.url}/ui/users")
    assert a11y.problems(page) == []
