"""Robots: browser sessions, the Acme Payables robot, and invoice input from Excel."""
