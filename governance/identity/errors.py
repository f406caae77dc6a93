"""The error of the identity package (users, tokens, delegations)."""

from __future__ import annotations

from governance.errors import GovernanceError


class IdentityError(GovernanceError):
    """A user, token or delegation operation was refused; the message says why."""
