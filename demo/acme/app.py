"""Acme Payables: a server-rendered legacy payables app (HTML only, no JSON API).

Login with a session cookie, a CSRF token in every form, vendors with bank accounts, invoice
entry, an invoice list with search, and "release payment". See `AcmeConfig` for its faults.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from demo.acme import db
from demo.acme.config import AcmeConfig
from demo.acme.forms import (
    CURRENCIES,
    field_id,
    field_name,
    iban_is_valid,
    ordered_fields,
    validate_invoice,
)
from demo.acme.sessions import COOKIE, Session, Sessions, csrf_ok

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


class _Halt(Exception):
    """Ends a request early with a ready response (a redirect to the login, a 403 page)."""

    def __init__(self, response: Response) -> None:
        self.response = response


class _Acme:
    """The app's state and its page handlers."""

    def __init__(self, config: AcmeConfig) -> None:
        self.config = config
        self.sessions = Sessions(config.session_ttl_s)
        self.failures_left = config.fail_after_save
        db.init_db(config.db_path, username=config.username, password=config.password)

    def render(self, request: Request, template: str, session: Session | None,
               status: int = 200, **context: Any) -> HTMLResponse:
        """A page from `template`, with what every page needs (layout, CSRF token, user)."""
        layout = self.config.layout
        return TEMPLATES.TemplateResponse(request, template, {
            "layout": layout, "csrf": session.csrf if session else "",
            "user": session.user if session else None,
            "fid": lambda key: field_id(layout, key), "fname": lambda key: field_name(layout, key),
            "unlabelled": self.config.unlabelled,
            **context}, status_code=status)

    def authed(self, request: Request) -> Session:
        """The logged-in session; otherwise the request ends with a redirect to the login."""
        session, expired = self.sessions.get(request.cookies.get(COOKIE))
        if session is None or session.user is None:
            raise _Halt(RedirectResponse("/login?expired=1" if expired else "/login",
                                         status_code=303))
        return session

    async def form(self, request: Request, session: Session | None) -> dict[str, str]:
        """The posted form; a missing or wrong CSRF token ends the request with a 403 page."""
        form = await request.form()
        if not csrf_ok(session, form.get("csrf_token")):
            raise _Halt(self.render(request, "error.html", session, 403,
                                    message="Invalid or missing CSRF token"))
        return {k: str(v) for k, v in form.items()}

    def value(self, form: dict[str, str], key: str) -> str:
        """The posted value of field `key`, whatever this layout names it, trimmed."""
        return form.get(field_name(self.config.layout, key), "").strip()


def create_app(config: AcmeConfig) -> FastAPI:
    """The Acme Payables web app over `config.db_path`."""
    acme = _Acme(config)
    app = FastAPI(title="Acme Payables", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(_Halt)
    async def halt(_request: Request, exc: _Halt) -> Response:
        return exc.response

    @app.middleware("http")
    async def slow(request: Request,
                   call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if config.slow_ms:
            await asyncio.sleep(config.slow_ms / 1000)
        return await call_next(request)

    @app.get("/ops/sessions")
    def sessions() -> dict[str, int]:
        """For operators and load tests: the peak of concurrent logged-in sessions."""
        return {"peak": acme.sessions.peak()}

    _login_routes(app, acme)
    _vendor_routes(app, acme)
    _invoice_routes(app, acme)
    return app


def _login_routes(app: FastAPI, acme: _Acme) -> None:
    @app.get("/", response_class=HTMLResponse)
    def home() -> Response:
        return RedirectResponse("/invoices", status_code=303)

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, expired: int = 0) -> Response:
        session, _ = acme.sessions.get(request.cookies.get(COOKIE))
        token = request.cookies.get(COOKIE)
        if session is None:
            token, session = acme.sessions.new()
        response = acme.render(request, "login.html", session, expired=bool(expired))
        response.set_cookie(COOKIE, token or "", httponly=True, samesite="lax")
        return response

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        old = request.cookies.get(COOKIE)
        session, _ = acme.sessions.get(old)
        values = await acme.form(request, session)
        username = acme.value(values, "username")
        password = values.get(field_name(acme.config.layout, "password"), "")  # not trimmed
        if not db.check_password(acme.config.db_path, username, password):
            return acme.render(request, "login.html", session, 200,
                               error="Invalid username or password")
        acme.sessions.drop(old)  # rotate: a fresh session id once logged in
        token, _ = acme.sessions.new(user=username)
        response = RedirectResponse("/invoices", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="lax")
        return response

    @app.get("/logout")
    def logout(request: Request) -> Response:
        acme.sessions.drop(request.cookies.get(COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response


def _vendor_routes(app: FastAPI, acme: _Acme) -> None:
    path = acme.config.db_path

    @app.get("/vendors", response_class=HTMLResponse)
    def vendors(request: Request) -> Response:
        session = acme.authed(request)
        return acme.render(request, "vendors.html", session, vendors=db.list_vendors(path))

    @app.get("/vendors/{vendor_id}", response_class=HTMLResponse)
    def vendor(request: Request, vendor_id: int, updated: int = 0) -> Response:
        session = acme.authed(request)
        found = db.get_vendor(path, vendor_id)
        if found is None:
            return acme.render(request, "error.html", session, 404, message="No such vendor")
        flash = "Bank account updated" if updated else ""
        return acme.render(request, "vendor.html", session, vendor=found, flash=flash)

    @app.post("/vendors/{vendor_id}/bank-account", response_class=HTMLResponse)
    async def change_iban(request: Request, vendor_id: int) -> Response:
        session = acme.authed(request)
        form = await acme.form(request, session)
        found = db.get_vendor(path, vendor_id)
        if found is None:
            return acme.render(request, "error.html", session, 404, message="No such vendor")
        new_iban = acme.value(form, "new_iban").replace(" ", "").upper()
        if not iban_is_valid(new_iban):
            return acme.render(request, "vendor.html", session, 422, vendor=found,
                               error="Invalid IBAN", value=new_iban)
        with db.connect(path) as conn:
            conn.execute("INSERT INTO bank_account_changes (vendor_id, old_iban, new_iban, "
                         "changed_at) VALUES (?, ?, ?, ?)",
                         (vendor_id, found["iban"], new_iban, db.now()))
            conn.execute("UPDATE vendors SET iban = ? WHERE id = ?", (new_iban, vendor_id))
        return RedirectResponse(f"/vendors/{vendor_id}?updated=1", status_code=303)


def _invoice_routes(app: FastAPI, acme: _Acme) -> None:
    path = acme.config.db_path

    def form_page(request: Request, session: Session, values: dict[str, str],
                  errors: dict[str, str], status: int = 200) -> Response:
        return acme.render(request, "invoice_form.html", session, status,
                           fields=ordered_fields(acme.config.layout), values=values,
                           errors=errors, currencies=CURRENCIES,
                           vendors=[v["name"] for v in db.list_vendors(path)])

    @app.get("/invoices", response_class=HTMLResponse)
    def invoices(request: Request) -> Response:
        session = acme.authed(request)
        query = request.query_params.get(field_name(acme.config.layout, "q"), "").strip()
        return acme.render(request, "invoices.html", session, query=query,
                           invoices=db.list_invoices(path, query))

    @app.get("/invoices/new", response_class=HTMLResponse)
    def new_invoice(request: Request) -> Response:
        session = acme.authed(request)
        return form_page(request, session, {"currency": "EUR"}, {})

    @app.post("/invoices", response_class=HTMLResponse)
    async def save_invoice(request: Request) -> Response:
        session = acme.authed(request)
        form = await acme.form(request, session)
        values = {f.key: acme.value(form, f.key) for f in ordered_fields(acme.config.layout)}
        vendors = {v["name"]: v["id"] for v in db.list_vendors(path)}
        errors = validate_invoice(values, list(vendors))
        if errors:
            return form_page(request, session, values, errors, 422)
        try:
            invoice_id = _insert_invoice(path, values, vendors[values["vendor"]])
        except sqlite3.IntegrityError:
            errors = {"invoice_number": f"Invoice number {values['invoice_number']} already "
                                        "exists for this vendor"}
            return form_page(request, session, values, errors, 409)
        if acme.config.save_reply_ms:  # saved; the app is slow to say so
            await asyncio.sleep(acme.config.save_reply_ms / 1000)
        if acme.failures_left > 0:  # saved, but the reply is lost: the classic double-entry trap
            acme.failures_left -= 1
            return acme.render(request, "error.html", session, 500,
                               message="Internal server error")
        return RedirectResponse(f"/invoices/{invoice_id}?saved=1", status_code=303)

    @app.get("/invoices/{invoice_id}", response_class=HTMLResponse)
    def invoice(request: Request, invoice_id: int, saved: int = 0, released: int = 0) -> Response:
        session = acme.authed(request)
        found = db.get_invoice(path, invoice_id)
        if found is None:
            return acme.render(request, "error.html", session, 404, message="No such invoice")
        number = found["invoice_number"]
        flash = (f"Invoice {number} saved" if saved else
                 f"Payment released for invoice {number}" if released else "")
        return acme.render(request, "invoice.html", session, invoice=found, flash=flash)

    @app.post("/invoices/{invoice_id}/release", response_class=HTMLResponse)
    async def release(request: Request, invoice_id: int) -> Response:
        session = acme.authed(request)
        await acme.form(request, session)  # checks the CSRF token
        with db.connect(path) as conn:
            changed = conn.execute(
                "UPDATE invoices SET status = 'released', released_at = ? "
                "WHERE id = ? AND status = 'entered'", (db.now(), invoice_id)).rowcount
        if not changed:
            found = db.get_invoice(path, invoice_id)
            if found is None:
                return acme.render(request, "error.html", session, 404,
                                   message="No such invoice")
            return acme.render(request, "invoice.html", session, 409, invoice=found,
                               error="Payment already released")
        return RedirectResponse(f"/invoices/{invoice_id}?released=1", status_code=303)


def _insert_invoice(path: Path, values: dict[str, str], vendor_id: int) -> int:
    """Store a validated invoice; its id. A duplicate number raises IntegrityError."""
    cents = int(Decimal(values["amount"]) * 100)
    with db.connect(path) as conn:
        cursor = conn.execute(
            "INSERT INTO invoices (vendor_id, invoice_number, amount_cents, currency, issue_date, "
            "due_date, description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (vendor_id, values["invoice_number"], cents, values["currency"],
             values["issue_date"], values["due_date"], values["description"], db.now()))
        return int(cursor.lastrowid or 0)
