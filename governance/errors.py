"""Errors of the governance layer.

    GovernanceError
    ├── PolicyError            the policy could not be loaded or evaluated (callers deny)
    ├── ApprovalError          an approval command was refused
    │   ├── SelfApprovalError      the voter requested it, wrote its flow, is its robot, or acts
    │   │                          for one of them (separation of duties)
    │   ├── ApprovalForbidden      the voter is not an approver of the request's group
    │   ├── ReauthenticationRequired  a high-risk request needs the voter's password again
    │   ├── ApprovalNotPending     the request was already resolved, expired or used
    │   └── ApprovalMismatch       the approval belongs to a different action, or the voter
    │                              saw another version of the request
    └── RobotError             raised by a robot's effect
        ├── BusinessRuleError      the application said no (duplicate, validation): don't retry
        └── ApplicationError       timeout, crash, 5xx: retry with a fresh session

Ledger failures are `audit.LedgerWriteError`: the Gate lets them through, so nothing happens
that was not first recorded.
"""

from __future__ import annotations

from typing import Any


class GovernanceError(Exception):
    """Base class of this package's errors."""


class PolicyError(GovernanceError):
    """The policy engine failed; the Gate turns this into a deny."""


class ApprovalError(GovernanceError):
    """An approval command was refused; the message says why."""


class SelfApprovalError(ApprovalError):
    """Separation of duties: nobody approves their own request."""


class ApprovalForbidden(ApprovalError):
    """The voter has no right to vote on this request (not in its group, nor a delegate)."""


class ReauthenticationRequired(ApprovalError):
    """The request is high-risk: the voter must confirm their password first."""


class ApprovalNotPending(ApprovalError):
    """The request is no longer open for votes or use."""


class ApprovalMismatch(ApprovalError):
    """The approval was given for another action (its digest differs)."""


class RobotError(GovernanceError):
    """Raised by a robot's effect; `evidence` holds hashes of what the robot saw, if any."""

    def __init__(self, message: str, *, evidence: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.evidence = evidence or {}


class BusinessRuleError(RobotError):
    """The application refused the transaction for a business reason; retrying cannot help."""


class ApplicationError(RobotError):
    """The application or its infrastructure failed; a retry with a fresh session may help."""
