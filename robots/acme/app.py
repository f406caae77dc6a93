"""Acme Payables as its robot knows it, beyond the words on its screens.

The robot's steps (robots/acme/robot.py) find fields, columns and buttons by the labels a clerk
reads; what a label cannot say is declared here: the app's names, where its pages are, and how it
marks its answers. Where the app runs and who signs in are settings (robots/acme/settings.py).
For another app, copy the robot and change these lines, the labels and the steps.
"""

from __future__ import annotations

from robots.pages import Messages

NAME = "Acme Payables"  # in messages for people
KIND = "acme"  # its actions are acme.<step>: what the policies match on
TARGET = "acme-payables"  # the app as policies and concurrency limits know it
PAGES = {"login": "/login", "vendors": "/vendors", "invoices": "/invoices",
         "new_invoice": "/invoices/new"}
# Its confirmations and errors carry no ARIA role (status, alert): it marks them with classes.
MESSAGES = Messages(confirmation="#flash, .flash", error=".error")
