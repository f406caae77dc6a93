"""Acme Payables: the bundled legacy web app that the demo's robots automate."""

from demo.acme.app import create_app
from demo.acme.config import AcmeConfig
from demo.acme.db import init_db, list_invoices, list_vendors, reset_db

__all__ = ["AcmeConfig", "create_app", "init_db", "list_invoices", "list_vendors", "reset_db"]
