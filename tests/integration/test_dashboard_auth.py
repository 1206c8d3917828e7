"""Dashboard sign-in, sessions, CSRF and roles, in process, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from fixtures.api_live import InProcess, set_keys
from fixtures.dashboard import PASSWORD, token_of
from fixtures.dashboard import attempt_sign_in as sign_in
from logisync.api import create_app
from logisync.domain.change import now_us
from logisync.store import users as sql
from logisync.web import users
from logisync.web.session import COOKIE, digest


@pytest.fixture
def hub(store, syncmap, monkeypatch) -> Iterator[InProcess]:
    set_keys(monkeypatch)
    for name, role in (("ada", users.Role.admin), ("otto", users.Role.operator), ("vic", users.Role.viewer)):
        users.add(store, name, role, PASSWORD, now_us(), "cli:test")
    with InProcess(create_app(syncmap, store)) as client:
        client.client.base_url = "http://127.0.0.1"
        yield client


def test_a_page_sends_the_signed_out_to_sign_in_and_back(hub):
    assert hub.get("/", follow_redirects=False).headers["location"] == "/ui/"
    page = hub.get("/ui/", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/ui/login?next=%2Fui%2F"
    htmx = hub.get("/ui/overview/live", headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"].startswith("/ui/login?next=")


def test_sign_in_sets_a_strict_httponly_session_cookie_and_shows_the_overview(hub, store):
    answer = sign_in(hub, "ada")
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(COOKIE))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert "Secure" not in cookie  # plain http to 127.0.0.1: the one case without it
    page = hub.get("/ui/")
    assert page.status_code == 200
    assert "Signed in as <strong>ada</strong>" in page.text
    assert "stock-to-shop" in page.text
    token = hub.client.cookies[COOKIE]
    assert sql.get_session(store, digest(token)) is not None  # kept by digest only
    assert sql.get_session(store, token) is None
    assert [a.action for a in sql.list_audit(store, limit=1)] == ["login"]


def test_the_cookie_is_secure_anywhere_but_loopback_http(hub):
    hub.client.base_url = "https://hub.example"  # behind TLS (or a TLS-terminating proxy)
    answer = sign_in(hub, "ada")
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(COOKIE))
    assert "Secure" in cookie


def test_a_wrong_password_is_refused_with_one_message_for_any_reason(hub, store):
    wrong = sign_in(hub, "ada", "not the password")
    unknown = sign_in(hub, "nobody", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong user name or password" in wrong.text and "Wrong user name or password" in unknown.text
    assert COOKIE not in hub.client.cookies
    reasons = [a.detail["reason"] for a in sql.list_audit(store, limit=2)]
    assert reasons == ["unknown_user", "bad_password"]


def test_five_wrong_passwords_lock_the_user_out_even_with_the_right_one(hub, store):
    for _ in range(users.MAX_FAILURES):
        assert sign_in(hub, "otto", "guess guess guess").status_code == 401
    refused = sign_in(hub, "otto")
    assert refused.status_code == 401
    # the same words as for an unknown name: the page does not tell that "otto" exists
    assert "Wrong user name or password" in refused.text
    assert sql.list_audit(store, limit=1)[0].detail["reason"] == "locked"
    assert sql.get_user(store, "otto").locked_until_us > now_us()
    users.set_password(store, "otto", PASSWORD, now_us(), "cli:test")  # an admin lifts it
    assert sign_in(hub, "otto").status_code == 303


def test_the_session_id_is_rotated_at_sign_in(hub, store):
    sign_in(hub, "vic")
    first = hub.client.cookies[COOKIE]
    sign_in(hub, "ada")
    second = hub.client.cookies[COOKIE]
    assert first != second
    assert sql.get_session(store, digest(first)) is None  # the old one ended


def test_a_post_without_the_csrf_token_is_403(hub):
    sign_in(hub, "ada")
    assert hub.post("/ui/logout", follow_redirects=False).status_code == 403
    assert hub.post("/ui/logout", data={"csrf": "forged"}, follow_redirects=False).status_code == 403
    assert hub.get("/ui/").status_code == 200  # still signed in


def test_the_login_form_needs_its_token(hub):
    answer = hub.post(
        "/ui/login", data={"username": "ada", "password": PASSWORD, "csrf": "x"}, follow_redirects=False
    )
    assert answer.status_code == 403
    assert COOKIE not in hub.client.cookies


def test_next_never_leaves_the_dashboard(hub):
    answer = sign_in(hub, "ada", next_="https://evil.example/ui/")
    assert answer.headers["location"] == "/ui/"
    assert sign_in(hub, "ada", next_="//evil.example/").headers["location"] == "/ui/"
    assert sign_in(hub, "ada", next_="/ui/login?next=/ui/").headers["location"] == "/ui/"
    assert sign_in(hub, "ada", next_="/ui/users?x=1").headers["location"] == "/ui/users?x=1"


def test_logout_ends_the_session_and_is_audited(hub, store):
    sign_in(hub, "vic")
    token = hub.client.cookies[COOKIE]
    page = hub.get("/ui/")
    answer = hub.post("/ui/logout", data={"csrf": token_of(page.text)}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/login"
    assert sql.get_session(store, digest(token)) is None
    assert sql.list_audit(store, limit=1)[0].actor == "user:vic"
    hub.client.cookies.set(COOKIE, token, domain="127.0.0.1", path="/ui")  # replayed: dead
    assert hub.get("/ui/", follow_redirects=False).status_code == 303


def test_a_role_change_or_disable_ends_the_session(hub, store):
    sign_in(hub, "otto")
    users.set_role(store, "otto", users.Role.viewer, now_us(), "cli:test")
    assert hub.get("/ui/", follow_redirects=False).status_code == 303
    sign_in(hub, "otto")
    users.set_disabled(store, "otto", True, now_us(), "cli:test")
    assert hub.get("/ui/", follow_redirects=False).status_code == 303
    assert sign_in(hub, "otto").status_code == 401


def test_an_idle_or_expired_session_ends(hub, store):
    sign_in(hub, "ada")
    token = hub.client.cookies[COOKIE]
    store._execute("UPDATE sessions SET last_seen_us = last_seen_us - ?", [3 * 3600 * 1_000_000])
    assert hub.get("/ui/", follow_redirects=False).status_code == 303
    assert sql.get_session(store, digest(token)) is None


def test_static_files_are_served_and_cannot_escape_their_folder(hub):
    js = hub.get("/ui/static/vendor/htmx.min.js")
    assert js.status_code == 200 and "htmx" in js.text[:2000]
    assert hub.get("/ui/static/vendor/uPlot.iife.min.js").status_code == 200
    assert hub.get("/ui/static/%2e%2e/app.py").status_code == 404
    assert hub.get("/ui/static/nothing.js").status_code == 404


def test_an_unknown_dashboard_address_is_a_404_page(hub):
    assert hub.get("/ui/nowhere", follow_redirects=False).status_code == 303  # signed out: sign in first
    sign_in(hub, "vic")
    page = hub.get("/ui/nowhere")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "there is no dashboard page at /ui/nowhere" in page.text


def test_ended_sessions_are_forgotten_at_the_next_sign_in(hub, store):
    sign_in(hub, "vic")
    store._execute("UPDATE sessions SET expires_us = 1")
    sign_in(hub, "ada")
    assert [r[0] for r in store._query("SELECT user_name FROM sessions")] == ["ada"]


def test_an_address_that_keeps_failing_is_refused_for_any_name(hub, store):
    for i in range(users.MAX_FAILURES_PER_ADDRESS):
        assert sign_in(hub, f"guess{i}", "not it at all").status_code == 401
    logged = len(sql.list_audit(store, limit=1000))
    refused = sign_in(hub, "ada")  # the right password, from the same address
    assert refused.status_code == 401 and "Too many failed attempts" in refused.text
    assert len(sql.list_audit(store, limit=1000)) == logged  # a flood writes nothing more


def test_wrong_passwords_sent_in_parallel_still_lock_the_user(store):
    """Each failure is counted in one statement: guesses racing each other cannot all read the
    same count and keep the user from ever locking."""
    users.add(store, "pat", users.Role.operator, PASSWORD, now_us(), "cli:test")
    guesses = 4 * users.MAX_FAILURES

    def guess(i: int) -> str:  # a new address each time: only the user's own counter may lock it
        return users.authenticate(
            store, "pat", f"guess {i}", now_us(), f"10.0.0.{i}", users.AddressThrottle()
        ).reason

    with ThreadPoolExecutor(8) as pool:
        reasons = list(pool.map(guess, range(guesses)))
    assert sql.get_user(store, "pat").locked_until_us > now_us()
    assert "locked" in reasons
    ok = users.authenticate(store, "pat", PASSWORD, now_us(), "10.0.1.1", users.AddressThrottle())
    assert ok.user is None and ok.reason == "locked"


@pytest.mark.parametrize("path", ["%00", "a%00b.js", "x" * 5000, "../../../etc/passwd", "vendor/"])
def test_a_bad_static_path_is_a_404_never_a_500(hub, path):
    assert hub.get(f"/ui/static/{path}").status_code == 404
