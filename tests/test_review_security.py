"""The review service over real HTTP (uvicorn on loopback): the authorization matrix over every
route and role, CSRF, Fetch metadata, sessions, login throttling, re-authentication, headers,
and notifications whose links change nothing."""

from __future__ import annotations

import email
import hashlib
import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi.routing import APIRoute

from governance.approvals.store import Approvals
from governance.models import Action
from governance.review import api, web
from governance.review.app import serving
from governance.review.settings import ReviewSettings
from proctor.composition import Governance, build
from proctor.settings import Settings
from tests.conftest import PASSWORD, add_people

ROLES = {"author": "alice", "approver": "bob", "auditor": "dora", "admin": "adam"}
SERVICE = "robot-acme"  # a service identity: votes on nothing, gets its token from an admin


def serve(governance: Governance) -> Iterator[str]:
    with serving(governance) as url:
        yield url


def review_settings(settings: Settings, **review: Any) -> Settings:
    return settings.model_copy(update={"review": ReviewSettings(
        secure_cookies=False, sweep_interval_s=0.2, **review)})


@pytest.fixture
def make_service(settings: Settings,
                 tmp_path: Path) -> Iterator[Callable[..., tuple[str, Governance]]]:
    running: list[Iterator[str]] = []
    settings = settings.model_copy(update={"documents_dir": tmp_path / "documents"})

    def start(**review: Any) -> tuple[str, Governance]:
        governance = build(review_settings(settings, **review), resume_runs=False)
        add_people(governance)
        governance.identity.add_user(SERVICE, PASSWORD, roles={"author"})
        server = serve(governance)
        running.append(server)
        return next(server), governance

    yield start
    for server in running:
        next(server, None)


@pytest.fixture
def service(make_service) -> tuple[str, Governance]:
    return make_service()


def sign_in(url: str, name: str, password: str = PASSWORD) -> httpx.Response:
    client = httpx.Client(base_url=url)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]*)"', form.text).group(1)
    response = client.post("/login", data={"username": name, "password": password,
                                           "csrf_token": token, "next": "/queue"})
    response.client = client  # type: ignore[attr-defined]
    return response


def browser(url: str, name: str) -> httpx.Client:
    response = sign_in(url, name)
    assert response.status_code == 303, response.text
    return response.client  # type: ignore[attr-defined]


def csrf(client: httpx.Client) -> str:
    page = client.get("/queue")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def payment(governance: Governance, amount: str = "48500.00", requested_by: str = "alice",
            preview: dict[str, str] | None = None, age_h: float = 0) -> Any:
    """A pending payment request; `age_h`: opened that many hours ago."""
    action = Action(kind="acme.release_payment", target="acme-payables",
                    robot="robot:acme-payables", requested_by=requested_by,
                    params={"vendor": "Globex Corporation", "invoice_number": f"INV-{amount}",
                            "amount": amount, "currency": "EUR"},
                    context={"invoice_status": "entered"})
    approvals = governance.approvals
    if age_h:  # the same store, on a clock that many hours back
        then = datetime.now(UTC) - timedelta(hours=age_h)
        approvals = Approvals(governance.engine, governance.writer, governance.identity,
                              clock=lambda: then)
    return approvals.open(action, governance.policy.decide(action.policy_input()), preview)


def bank_change(governance: Governance) -> Any:
    action = Action(kind="acme.change_bank_account", target="acme-payables",
                    robot="robot:acme-payables", requested_by="alice",
                    params={"vendor": "Initech GmbH", "old_iban": "DE02120300000000202051",
                            "new_iban": "CH9300762011623852957"},
                    sensitive=frozenset({"old_iban", "new_iban"}))
    return governance.approvals.open(action, governance.policy.decide(action.policy_input()))


# --- the authorization matrix ------------------------------------------------------------------

ALL = frozenset({"anonymous", *ROLES})
SIGNED_IN = frozenset(ROLES)
# (method, path) -> who may call it. Every route of the app must be here.
MATRIX: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/health"): ALL,
    ("GET", "/api/ready"): ALL,
    ("GET", "/metrics"): ALL,
    ("GET", "/api/openapi.json"): ALL,
    ("GET", "/api/approvals"): SIGNED_IN,
    ("GET", "/api/approvals/{request_id}"): SIGNED_IN,
    ("POST", "/api/approvals/{request_id}/approve"): frozenset({"approver"}),
    ("POST", "/api/approvals/{request_id}/reject"): frozenset({"approver"}),
    ("POST", "/api/approvals/{request_id}/edit"): frozenset({"approver"}),
    ("POST", "/api/approvals/bulk-approve"): frozenset({"approver"}),
    ("GET", "/api/users"): frozenset({"admin"}),
    ("POST", "/api/users"): frozenset({"admin"}),
    ("PATCH", "/api/users/{name}"): frozenset({"admin"}),
    ("POST", "/api/users/{name}/tokens"): frozenset({"admin"}),
    ("DELETE", "/api/users/{name}/tokens"): frozenset({"admin"}),
    ("POST", "/api/delegations"): SIGNED_IN,
    ("GET", "/api/audit/entries"): frozenset({"auditor", "admin"}),
    ("GET", "/api/audit/actions/{action_id}/story"): frozenset({"auditor", "admin"}),
    ("GET", "/api/audit/verify"): frozenset({"auditor", "admin"}),
    ("GET", "/api/audit/checkpoints"): frozenset({"auditor", "admin"}),
    ("GET", "/api/audit/proof/{seq}"): frozenset({"auditor", "admin"}),
    ("GET", "/api/audit/search"): frozenset({"auditor", "admin"}),
    ("GET", "/queue"): SIGNED_IN,
    ("POST", "/queue/bulk-approve"): frozenset({"approver"}),
    ("GET", "/requests/{request_id}"): SIGNED_IN,
    ("GET", "/requests/{request_id}/preview/{name}"): SIGNED_IN,
    ("POST", "/requests/{request_id}/approve"): frozenset({"approver"}),
    ("POST", "/requests/{request_id}/reject"): frozenset({"approver"}),
    ("POST", "/requests/{request_id}/edit"): frozenset({"approver"}),
    ("POST", "/requests/{request_id}/edit-preview"): frozenset({"approver"}),
}
# Sign-in routes: open to all by design, tested on their own below.
PUBLIC = {("GET", "/"), ("GET", "/login"), ("POST", "/login"), ("POST", "/logout")}


def test_every_route_is_in_the_matrix(service) -> None:
    url, governance = service
    routers = [*api.ROUTERS, *web.ROUTERS]
    routes = {(m, r.path) for router in routers for r in router.routes
              if isinstance(r, APIRoute) for m in r.methods}
    assert len(routes) > 20
    routes |= {("GET", "/api/openapi.json"), ("GET", "/metrics")}  # on the app itself
    assert routes - PUBLIC == set(MATRIX), "classify every new route in MATRIX"


@pytest.fixture
def callers(service) -> dict[str, Callable[..., httpx.Response]]:
    """For each role, a function (method, path, **kwargs) calling as that role: bearer tokens
    for /api, a signed-in session with its CSRF token for the pages."""
    url, governance = service
    out: dict[str, Callable[..., httpx.Response]] = {}
    for role, name in {"anonymous": None, **ROLES}.items():
        # A long timeout: the first audit search loads the embedding model.
        api = httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer "
                           f"{governance.identity.create_token(name)}"} if name else {})
        web = browser(url, name) if name else httpx.Client(base_url=url)
        token = csrf(web) if name else ""

        def call(method: str, path: str, *, api=api, web=web, token=token,
                 **kwargs: Any) -> httpx.Response:
            if path.startswith("/api/"):
                return api.request(method, path, **kwargs)
            data = kwargs.pop("data", None)
            if method == "POST":
                data = {"csrf_token": token, **(data or {})}
            return web.request(method, path, data=data, **kwargs)

        out[role] = call
    return out


def _call_for(governance: Governance, method: str, path: str, role: str,
              tmp: Path) -> tuple[str, dict[str, Any]]:
    """A concrete path and body for one (route, caller): a fresh request each time."""
    png = b"\x89PNG\r\n\x1a\n" + role.encode()
    digest = hashlib.sha256(png).hexdigest()
    store = governance.settings.evidence.dir / digest[:2]
    store.mkdir(parents=True, exist_ok=True)
    (store / f"{digest}.png").write_bytes(png)
    request = payment(governance, f"{20000 + len(governance.approvals.list())}.00",
                      preview={"screenshot": digest})
    caller = ROLES.get(role, "nobody")
    # A token is made for a service identity (an administrator may not make one for an
    # approver); the other user routes work on erin, an approver.
    name = SERVICE if (method, path) == ("POST", "/api/users/{name}/tokens") else "erin"
    values = {"request_id": request.id, "name": name, "action_id": request.action_id,
              "seq": "1"}
    if path == "/api/audit/proof/{seq}":
        governance.checkpoints.make()
    concrete = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
    if path == "/requests/{request_id}/preview/{name}":
        concrete = f"/requests/{request.id}/preview/screenshot"
    if path == "/api/audit/search":
        concrete = f"{path}?q=a+payment+waits+for+approval&limit=3"
    vote = {"view_digest": request.view_digest, "comment": "fine"}
    bodies: dict[str, dict[str, Any]] = {
        "/api/approvals/{request_id}/approve": {"json": vote},
        "/api/approvals/{request_id}/reject": {"json": vote},
        "/api/approvals/{request_id}/edit": {"json": {**vote, "edits": {"amount": "10.00"}}},
        "/api/approvals/bulk-approve": {"json": {"reason": "amount_over_approval_limit",
                                                 "requests": [{"id": request.id, "view_digest":
                                                               request.view_digest}]}},
        "/api/users": {"json": {"name": f"new-{role}", "password": PASSWORD,
                                "roles": ["author"]}},
        "/api/users/{name}": {"json": {"email": "erin@example.test"}},
        "/api/delegations": {"json": {"delegator": caller, "delegate": "erin",
                                      "until": (datetime.now(UTC) + timedelta(days=1))
                                      .isoformat()}},
        "/queue/bulk-approve": {"data": {"reason": "amount_over_approval_limit",
                                         "request_id": request.id,
                                         f"seen_{request.id}": request.view_digest}},
        "/requests/{request_id}/approve": {"data": vote},
        "/requests/{request_id}/reject": {"data": vote},
        "/requests/{request_id}/edit": {"data": {**vote, "param_amount": "10.00"}},
        "/requests/{request_id}/edit-preview": {"data": {"param_amount": "10.00"}},
    }
    if method == "GET" and path in bodies:
        return concrete, {}
    return concrete, bodies.get(path, {})


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_authorization_matrix(service, callers, tmp_path: Path, method: str, path: str) -> None:
    url, governance = service
    for role in ("anonymous", *ROLES):
        concrete, body = _call_for(governance, method, path, role, tmp_path)
        refused_before = len(governance.reader.query(kind="access.refused"))
        response = callers[role](method, concrete, **body)
        to_login = response.status_code == 303 and \
            response.headers["location"].startswith("/login")
        seen = (role, method, concrete, response.status_code, response.text[:300])
        if role in MATRIX[(method, path)]:  # allowed: it must work, not merely not refuse
            assert 200 <= response.status_code < 400 and not to_login, seen
        else:
            assert response.status_code in (401, 403) or to_login, seen
            if not to_login:
                assert len(governance.reader.query(kind="access.refused")) > refused_before


# --- the sign-in and session rules -------------------------------------------------------------

def test_login_rotates_the_session_and_logout_ends_it(service) -> None:
    url, _ = service
    first = browser(url, "bob")
    old = first.cookies["proctor_session"]
    again = sign_in(url, "bob")  # a second login: a new session id
    assert again.cookies["proctor_session"] != old
    # A session id planted before login is not kept: the login answers with a new one.
    planted = httpx.Client(base_url=url, cookies={"proctor_session": "attacker-chosen"})
    form = planted.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]*)"', form.text).group(1)
    answer = planted.post("/login", data={"username": "bob", "password": PASSWORD,
                                          "csrf_token": token})
    assert answer.cookies["proctor_session"] not in ("", "attacker-chosen")
    assert first.get("/queue").status_code == 200
    first.post("/logout", data={"csrf_token": csrf(first)})
    stale = httpx.Client(base_url=url, cookies={"proctor_session": old})
    assert stale.get("/queue").headers["location"].startswith("/login")


def test_cookies_are_http_only_and_strict(service) -> None:
    url, _ = service
    header = sign_in(url, "bob").headers["set-cookie"]
    assert "HttpOnly" in header and "SameSite=strict" in header.replace("Strict", "strict")
    secure = ReviewSettings()
    assert secure.secure_cookies  # the default: __Host- cookie, HTTPS only


def test_idle_and_absolute_timeouts(make_service) -> None:
    url, _ = make_service(idle_timeout_s=2, absolute_timeout_s=5)
    idle = browser(url, "bob")
    time.sleep(2.3)
    assert idle.get("/queue").headers["location"].startswith("/login")
    busy = browser(url, "bob")
    started = time.monotonic()
    while time.monotonic() - started < 3.8:  # in use all the time, never idle for 2 s
        assert busy.get("/queue").status_code == 200
        time.sleep(0.3)
    time.sleep(max(0.0, 5.3 - (time.monotonic() - started)))  # past 5 s, idle under 2 s
    assert busy.get("/queue").headers["location"].startswith("/login")


def test_login_is_rate_limited(make_service) -> None:
    url, governance = make_service(login_attempts=3, login_window_s=60)
    for _ in range(3):
        assert sign_in(url, "bob", "wrong password!!").status_code == 401
    blocked = sign_in(url, "bob")  # even the right password waits now
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    reasons = [e.data()["reason"] for e in governance.reader.query(kind="access.refused")]
    assert reasons.count("wrong user name or password") == 3
    assert "too many failed logins" in reasons
    assert sign_in(url, "carol").status_code == 303  # another user from elsewhere: fine


def test_login_form_needs_its_token_and_redirects_only_locally(service) -> None:
    url, _ = service
    client = httpx.Client(base_url=url)
    forged = client.post("/login", data={"username": "bob", "password": PASSWORD})
    assert forged.status_code == 403
    form = client.get("/login?next=https://evil.example/")
    assert "evil.example" not in form.text
    token = re.search(r'name="csrf_token" value="([^"]*)"', form.text).group(1)
    done = client.post("/login", data={"username": "bob", "password": PASSWORD,
                                       "csrf_token": token, "next": "//evil.example/"})
    assert done.headers["location"] == "/queue"


# --- state changes -----------------------------------------------------------------------------

def test_state_changes_need_csrf_post_and_same_site(service) -> None:
    url, governance = service
    request = payment(governance)
    bob = browser(url, "bob")
    vote = {"view_digest": request.view_digest}
    assert bob.post(f"/requests/{request.id}/approve", data=vote).status_code == 403
    assert bob.post(f"/requests/{request.id}/approve",
                    data={**vote, "csrf_token": "guess"}).status_code == 403
    assert bob.get(f"/requests/{request.id}/approve").status_code == 405
    token = csrf(bob)
    cross = bob.post(f"/requests/{request.id}/approve", data={**vote, "csrf_token": token},
                     headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"})
    assert cross.status_code == 403
    other_origin = bob.post(f"/requests/{request.id}/approve",
                            data={**vote, "csrf_token": token},
                            headers={"Origin": "https://evil.example"})
    assert other_origin.status_code == 403
    embedded = bob.get("/queue", headers={"Sec-Fetch-Site": "cross-site",
                                          "Sec-Fetch-Mode": "no-cors",
                                          "Sec-Fetch-Dest": "image"})
    assert embedded.status_code == 403
    link = bob.get("/queue", headers={"Sec-Fetch-Site": "cross-site",
                                      "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"})
    assert link.status_code == 200  # following a link from a mail client opens the page
    assert governance.approvals.get(request.id).status == "pending"
    assert len(governance.reader.query(kind="access.refused")) >= 5
    same = bob.post(f"/requests/{request.id}/approve", data={**vote, "csrf_token": token},
                    headers={"Sec-Fetch-Site": "same-origin", "Origin": url})
    assert same.status_code == 303
    assert governance.approvals.get(request.id).status == "approved"


def test_high_risk_approval_asks_for_the_password(make_service) -> None:
    url, governance = make_service(reauth_window_s=0)
    request = bank_change(governance)
    bob = browser(url, "bob")
    page = bob.get(f"/requests/{request.id}").text
    assert 'id="approve-password"' in page and "CH9300762011623852957" not in page
    vote = {"view_digest": request.view_digest, "csrf_token": csrf(bob)}
    bare = bob.post(f"/requests/{request.id}/approve", data=vote)
    assert bare.status_code == 409 and "confirm your password" in bare.text
    wrong = bob.post(f"/requests/{request.id}/approve", data={**vote, "password": "nope nope"})
    assert wrong.status_code == 409
    assert governance.approvals.get(request.id).status == "pending"
    right = bob.post(f"/requests/{request.id}/approve", data={**vote, "password": PASSWORD})
    assert right.status_code == 303
    assert governance.approvals.get(request.id).status == "approved"
    reasons = [e.data()["reason"] for e in governance.reader.query(kind="access.refused")]
    assert "wrong password on re-authentication" in reasons


def test_api_votes_are_bound_to_what_was_seen(service) -> None:
    url, governance = service
    request = payment(governance)
    api = httpx.Client(base_url=url, headers={
        "Authorization": f"Bearer {governance.identity.create_token('bob')}"})
    missing = api.post(f"/api/approvals/{request.id}/approve", json={})
    assert missing.status_code == 422
    stale = api.post(f"/api/approvals/{request.id}/approve", json={"view_digest": "0" * 64})
    assert stale.status_code == 409
    edited = api.post(f"/api/approvals/{request.id}/edit", json={
        "view_digest": request.view_digest, "edits": {"amount": "480.00"}})
    assert edited.status_code == 200 and edited.json()["status"] == "approved"
    assert edited.json()["edits"] == {"amount": "480.00"}
    again = api.post(f"/api/approvals/{request.id}/approve",
                     json={"view_digest": edited.json()["view_digest"]})
    assert again.status_code == 409 and "already approved" in again.text


def test_security_headers_everywhere(service) -> None:
    url, _ = service
    bob = browser(url, "bob")
    for response in (bob.get("/queue"), bob.get("/login"), httpx.get(f"{url}/api/health")):
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["cache-control"] == "no-store"


def test_no_password_or_session_id_is_stored_or_logged(service, caplog) -> None:
    url, governance = service
    with caplog.at_level("DEBUG"):
        bob = browser(url, "bob")
        token = bob.cookies["proctor_session"]
        sign_in(url, "carol", "a wrong password here")
    database = Path(governance.settings.ledger.url.removeprefix("sqlite:///"))
    stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    # What the service logs (not the test's own HTTP client, which logs what it receives).
    logged = "\n".join(r.getMessage() for r in caplog.records
                       if not r.name.startswith(("httpx", "httpcore")))
    for secret in (PASSWORD, token, "a wrong password here"):
        assert secret.encode() not in stored
        assert secret not in logged


# --- notifications -----------------------------------------------------------------------------

class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def test_approvers_are_mailed_a_link_that_changes_nothing(make_service) -> None:
    inbox = Inbox()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        url, governance = make_service(smtp_host="127.0.0.1", smtp_port=port,
                                       base_url="http://127.0.0.1:1")
        request = payment(governance)
        deadline = time.monotonic() + 5
        while len(inbox.messages) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        smtp.stop()
    # finance-approvers: bob, carol and dave, each on their own.
    assert sorted(parseaddr(m["To"])[1] for m in inbox.messages) == [
        "bob@example.test", "carol@example.test", "dave@example.test"]
    body = inbox.messages[0].get_payload(decode=True).decode()
    links = re.findall(r"https?://\S+", body)
    assert links == [f"http://127.0.0.1:1/requests/{request.id}"]
    # An email scanner fetching that link (on the real server) changes nothing.
    scanner = httpx.get(url + links[0].removeprefix("http://127.0.0.1:1"))
    assert scanner.status_code == 303 and scanner.headers["location"].startswith("/login")
    assert governance.approvals.get(request.id).status == "pending"


# --- beyond roles: groups and ownership ---------------------------------------------------------

def test_an_approver_of_another_group_and_another_author_see_nothing(service) -> None:
    """rita approves for risk-committee only, amy is an author who did not ask: neither finds
    alice's finance request anywhere, whatever the route; bob and alice do."""
    url, governance = service
    governance.identity.add_user("amy", PASSWORD, roles={"author"})
    png = b"\x89PNG\r\n\x1a\nscreenshot"
    digest = hashlib.sha256(png).hexdigest()
    (governance.settings.evidence.dir / digest[:2]).mkdir(parents=True, exist_ok=True)
    (governance.settings.evidence.dir / digest[:2] / f"{digest}.png").write_bytes(png)
    request = payment(governance, preview={"screenshot": digest})
    others = payment(governance, "30000.00", requested_by="zoe")
    vote = {"view_digest": request.view_digest, "comment": "mine now", "password": PASSWORD}
    for outsider in ("rita", "amy"):
        api = httpx.Client(base_url=url, headers={
            "Authorization": f"Bearer {governance.identity.create_token(outsider)}"})
        web = browser(url, outsider)
        token = csrf(web)
        assert api.get("/api/approvals").json()["items"] == []
        assert api.get("/api/approvals", params={"group": "finance-approvers"}
                       ).json()["items"] == []
        assert request.id not in web.get("/queue").text
        assert request.id not in web.get("/queue", params={"group": "finance-approvers"}).text
        assert api.get(f"/api/approvals/{request.id}").status_code == 404
        assert web.get(f"/requests/{request.id}").status_code == 404
        assert web.get(f"/requests/{request.id}/preview/screenshot").status_code == 404
        for kind in ("approve", "reject", "edit"):
            body = {**vote, "edits": {"amount": "1.00"}} if kind == "edit" else vote
            assert api.post(f"/api/approvals/{request.id}/{kind}", json=body
                            ).status_code in (403, 404), (outsider, kind)
            assert web.post(f"/requests/{request.id}/{kind}", data={**vote, "csrf_token": token}
                            ).status_code in (403, 404), (outsider, kind)
        bulk = api.post("/api/approvals/bulk-approve", json={
            "reason": "amount_over_approval_limit",
            "requests": [{"id": request.id, "view_digest": request.view_digest}],
            "password": PASSWORD})
        assert bulk.status_code in (403, 404), outsider
    assert governance.approvals.get(request.id).status == "pending"
    # The people it concerns do see it: alice her own request only, bob his group's.
    alice = httpx.Client(base_url=url, headers={
        "Authorization": f"Bearer {governance.identity.create_token('alice')}"})
    assert [r["id"] for r in alice.get("/api/approvals").json()["items"]] == [request.id]
    assert alice.get(f"/api/approvals/{others.id}").status_code == 404
    assert alice.get(f"/api/approvals/{request.id}").status_code == 200
    bob = browser(url, "bob")
    assert request.id in bob.get("/queue").text and others.id in bob.get("/queue").text
    assert bob.get(f"/requests/{request.id}/preview/screenshot").content == png


# --- tokens: nobody makes one that votes for someone else --------------------------------------

def test_only_approvers_make_their_own_tokens(service) -> None:
    url, governance = service

    def api(token: str) -> httpx.Client:
        return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})

    adam = api(governance.identity.create_token("adam"))
    bob = api(governance.identity.create_token("bob"))
    minted = adam.post("/api/users/bob/tokens")
    assert minted.status_code == 403 and "only bob can create a token" in minted.text
    refused = governance.reader.query(kind="access.refused", actor="adam")
    assert refused and "only bob" in refused[-1].data()["reason"]
    assert bob.post("/api/users/bob/tokens").status_code == 403  # without the password
    assert bob.post("/api/users/bob/tokens", json={"password": "not my password"}
                    ).status_code == 403
    assert bob.post("/api/users/carol/tokens", json={"password": PASSWORD}).status_code == 403
    own = bob.post("/api/users/bob/tokens", json={"password": PASSWORD})
    assert own.status_code == 201
    assert api(own.json()["token"]).get("/api/approvals").status_code == 200
    assert adam.post("/api/users/nobody/tokens").status_code == 422
    service_token = adam.post(f"/api/users/{SERVICE}/tokens")
    assert service_token.status_code == 201
    robot = api(service_token.json()["token"])
    assert robot.get("/api/approvals").status_code == 200
    # The service identity made an approver: the token its administrator knows stops working.
    assert adam.patch(f"/api/users/{SERVICE}", json={"roles": ["approver"],
                                                     "groups": ["treasury"]}).status_code == 200
    assert robot.get("/api/approvals").status_code == 401
    # Administrators revoke anyone's tokens.
    assert adam.delete("/api/users/bob/tokens").json() == {"revoked": 2}
    assert bob.get("/api/approvals").status_code == 401
    made = governance.reader.query(kind="identity.token_created")
    assert [(e.actor, e.data()["user"]) for e in made] == [("bob", "bob"), ("adam", SERVICE)]


def test_api_reauthentication_is_rate_limited(make_service) -> None:
    url, governance = make_service(login_attempts=3, login_window_s=60)
    request = bank_change(governance)

    def api(who: str) -> httpx.Client:
        return httpx.Client(base_url=url, headers={
            "Authorization": f"Bearer {governance.identity.create_token(who)}"})

    bob, path = api("bob"), f"/api/approvals/{request.id}/approve"
    vote = {"view_digest": request.view_digest}
    assert bob.post(path, json=vote).status_code == 401  # high-risk: the password is needed
    for _ in range(3):
        assert bob.post(path, json={**vote, "password": "wrong password!!"}).status_code == 403
    blocked = bob.post(path, json={**vote, "password": PASSWORD})  # even the right one waits
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert governance.approvals.get(request.id).status == "pending"
    reasons = [e.data()["reason"] for e in governance.reader.query(kind="access.refused")]
    assert reasons.count("wrong password on re-authentication") == 3
    assert "too many wrong passwords" in reasons
    assert sign_in(url, "bob").status_code == 429  # one limit with the web's sign-in
    carol = api("carol").post(path, json={**vote, "password": PASSWORD})
    assert carol.status_code == 200 and carol.json()["status"] == "approved"


def test_api_bulk_approval_is_bound_to_what_was_seen(make_service, policy_dir: Path) -> None:
    data = json.loads((policy_dir / "data.json").read_text())
    data["acme"]["approvals"]["payment_quorum"] = 2  # an edit leaves the request pending
    (policy_dir / "data.json").write_text(json.dumps(data))
    url, governance = make_service()
    kept, changed = payment(governance, "20000.00"), payment(governance, "21000.00")
    bob = httpx.Client(base_url=url, headers={
        "Authorization": f"Bearer {governance.identity.create_token('bob')}"})
    reason = "amount_over_approval_limit"
    listed = bob.get("/api/approvals", params={"reason": reason}).json()["items"]
    assert {r["id"] for r in listed} == {kept.id, changed.id}
    # After bob read the list, carol edits one request: a new version, still pending.
    governance.approvals.approve_with_edits(changed.id, "carol", {"amount": "20500.00"},
                                            seen=changed.view_digest)
    missing = bob.post("/api/approvals/bulk-approve", json={
        "reason": reason, "requests": [{"id": changed.id}]})
    assert missing.status_code == 422
    answer = bob.post("/api/approvals/bulk-approve", json={"reason": reason, "requests": [
        {"id": r["id"], "view_digest": r["view_digest"]} for r in listed]})
    assert answer.status_code == 200, answer.text
    results = {r["request_id"]: r for r in answer.json()}
    assert results[kept.id]["ok"]
    assert not results[changed.id]["ok"]
    assert "changed since it was shown" in results[changed.id]["message"]
    assert [v.voter for v in governance.approvals.votes(changed.id)] == ["carol"]
    assert [v.voter for v in governance.approvals.votes(kept.id)] == ["bob"]


# --- the queue's filters over HTTP -------------------------------------------------------------

def test_queue_filters_by_age_and_group(service) -> None:
    url, governance = service
    fresh = payment(governance, "20000.00")
    old = payment(governance, "30000.00", age_h=5)
    bank = bank_change(governance)  # treasury
    api = httpx.Client(base_url=url, headers={
        "Authorization": f"Bearer {governance.identity.create_token('bob')}"})

    def listed(**query: Any) -> set[str]:
        answer = api.get("/api/approvals", params=query)
        assert answer.status_code == 200, answer.text
        return {r["id"] for r in answer.json()["items"]}

    assert listed() == {fresh.id, old.id, bank.id}
    assert listed(min_age_s=3600) == {old.id}
    assert listed(max_age_s=3600) == {fresh.id, bank.id}
    assert listed(group="treasury") == {bank.id}
    assert listed(group="finance-approvers") == {fresh.id, old.id}
    assert listed(group="finance-approvers", max_age_s=3600) == {fresh.id}
    assert listed(group="risk-committee") == set()  # not bob's: narrows, never widens
    bob = browser(url, "bob")

    def shown(**query: str) -> set[str]:
        page = bob.get("/queue", params=query)
        assert page.status_code == 200, page.text
        return {i for i in (fresh.id, old.id, bank.id) if f"/requests/{i}" in page.text}

    assert shown() == {fresh.id, old.id, bank.id}
    assert shown(min_age_h="1") == {old.id}
    assert shown(max_age_h="1") == {fresh.id, bank.id}
    assert shown(group="treasury") == {bank.id}
    assert shown(group="finance-approvers", min_age_h="1") == {old.id}
    assert bob.get("/queue", params={"min_age_h": "soon"}).status_code == 422


# --- what a request page shows -----------------------------------------------------------------

def test_request_page_shows_the_preview(service) -> None:
    import io

    from PIL import Image

    from robots.evidence import EvidenceStore

    url, governance = service
    image = io.BytesIO()
    Image.new("RGB", (64, 32), "white").save(image, format="PNG")
    store = EvidenceStore(governance.settings.evidence.dir, governance.redactor)
    screenshot = store.put(image.getvalue(), ".png")
    document = "INVOICE INV-7781\nInitech GmbH\nTotal due: 1,250.00 EUR\nPay to the new account"
    action = Action(kind="acme.change_bank_account", target="acme-payables",
                    robot="robot:acme-payables", requested_by="alice",
                    params={"vendor": "Initech GmbH", "old_iban": "DE02120300000000202051",
                            "new_iban": "CH9300762011623852957"},
                    sensitive=frozenset({"old_iban", "new_iban"}),
                    context={"document": document,
                             "extracted": {"invoice_number": "INV-7781", "total": "1250.00"}})
    request = governance.approvals.open(
        action, governance.policy.decide(action.policy_input()), {"screenshot": screenshot})
    bob = browser(url, "bob")
    page = bob.get(f"/requests/{request.id}")
    assert page.status_code == 200
    html = page.text
    assert "bank_account_change" in html  # the policy's reason
    assert "••••2957" in html and "CH9300762011623852957" not in html  # masked
    assert "DE02120300000000202051" not in html
    assert "Source document" in html and "Total due: 1,250.00 EUR" in html
    for field, value in (("invoice_number", "INV-7781"), ("total", "1250.00")):  # extracted
        assert re.search(rf"<th>{field}</th>\s*<td>{re.escape(value)}</td>", html), field
    assert f"/requests/{request.id}/preview/screenshot" in html
    shot = bob.get(f"/requests/{request.id}/preview/screenshot")
    assert shot.status_code == 200 and shot.headers["content-type"] == "image/png"
    assert shot.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(shot.content)).size == (64, 32)
    assert hashlib.sha256(shot.content).hexdigest() == screenshot
    # A request without a screenshot says so, and has no preview file to fetch.
    plain = payment(governance)
    assert "No screenshot for this action." in bob.get(f"/requests/{plain.id}").text
    assert bob.get(f"/requests/{plain.id}/preview/screenshot").status_code == 404
