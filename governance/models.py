"""The domain: what a robot proposes (`Action`), what policy says (`Decision`), what happened
(`Outcome`)."""

from __future__ import annotations

import hashlib
from typing import Any, Literal
from uuid import uuid4

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from audit import canonical_json

DecisionOutcome = Literal["allow", "deny", "require_approval"]
# What the Gate does when the app holds other values than were approved (effect verification):
# "flag" records it and lets the flow go on, "fail" stops the flow, "require_approval" stops it
# until a person acknowledges the divergence.
OnDivergence = Literal["flag", "fail", "require_approval"]
OutcomeStatus = Literal[
    "succeeded", "reconciled", "failed", "denied", "rejected", "expired", "already_done",
    "in_doubt", "planned", "diverged",
]
# The statuses of an effect that happened (now, earlier, found by reconciling, or done but
# read back other than approved).
DONE_STATUSES = ("succeeded", "reconciled", "already_done", "diverged")


class Action(BaseModel):
    """One side effect a robot wants to carry out, described before it happens.

    `params` say exactly what will be done and are what an approval is bound to; `context` holds
    facts gathered for the policy (e.g. whether the record already exists in the application).

        Action(kind="crm.update_contact", target="crm", robot="robot:crm-sync",
               requested_by="alice", params={"contact_id": "C-17", "phone": "+44 20 7946 0000"})

    `robot` was called `actor` before; records and callers using `actor` are still read.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=lambda: uuid4().hex)
    kind: str = Field(min_length=1, pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
    target: str = Field(min_length=1, description="the application acted on")
    robot: str = Field(min_length=1, description="the robot's service identity",
                       validation_alias=AliasChoices("robot", "actor"))
    requested_by: str = Field(min_length=1, description="the person the robot acts for")
    params: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    flow_run_id: str | None = None
    step: str | None = Field(default=None, description="the step of the run that proposes it")
    flow_author: str | None = Field(
        default=None, description="who wrote the flow; may not approve its actions")
    idempotency_key: str | None = None
    sensitive: frozenset[str] = Field(
        default=frozenset(), description="param names stored in the ledger as keyed hashes only"
    )

    @field_validator("params", "context")
    @classmethod
    def _json_only(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            canonical_json(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"must hold JSON values only: {exc}") from None
        return value

    def digest(self) -> str:
        """SHA-256 over exactly what will be done, for whom and in which run.

        Any change to a parameter, even an invisible character, gives another digest.
        """
        bound = {
            "kind": self.kind,
            "target": self.target,
            "actor": self.robot,  # the digest's key keeps its first name: digests stay stable
            "requested_by": self.requested_by,
            "params": self.params,
            "flow_run_id": self.flow_run_id,
            "step": self.step,
            "idempotency_key": self.idempotency_key,
        }
        return hashlib.sha256(canonical_json(bound).encode("utf-8")).hexdigest()

    def policy_input(self) -> dict[str, Any]:
        """The document the policy evaluates."""
        action = self.model_dump(mode="json", exclude={"context", "sensitive"})
        return {"action": action, "context": self.context}


class Decision(BaseModel):
    """What the policy said about one action, and under which policy revision."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: DecisionOutcome
    reasons: list[str] = Field(default_factory=list)
    approver_group: str | None = None
    quorum: int = Field(default=0, ge=0)
    expires_in_s: int | None = Field(default=None, gt=0)
    escalate_after_s: int | None = Field(
        default=None, gt=0, description="still pending after this long: the escalation group "
        "may decide too")
    escalation_group: str | None = None
    reauthenticate: bool = Field(
        default=False, description="approvers confirm their password before approving")
    policy_revision: str = ""
    decision_id: str | None = Field(
        default=None, description="the OPA server's id for this decision (its decision log)")
    policy_bundle: str | None = Field(
        default=None, description="the signed bundle that decided (PROCTOR_POLICY_BUNDLE)")
    on_divergence: OnDivergence = Field(
        default="flag", description="what a read-back that differs from the approved params "
        "means: flag (go on), fail (stop the flow) or require_approval (a person acknowledges)")

    @model_validator(mode="after")
    def _approval_is_complete(self) -> Decision:
        complete = self.approver_group and self.quorum >= 1 and self.expires_in_s is not None
        if self.outcome == "require_approval" and not complete:
            raise ValueError("require_approval needs approver_group, quorum >= 1 and expires_in_s")
        if (self.escalate_after_s is None) != (self.escalation_group is None):
            raise ValueError("escalation needs both escalate_after_s and escalation_group")
        return self

    @classmethod
    def deny(cls, reason: str, policy_revision: str = "") -> Decision:
        """A fail-closed decision; used whenever the engine cannot give a clear answer."""
        return cls(outcome="deny", reasons=[reason], policy_revision=policy_revision)


class Outcome(BaseModel):
    """What the Gate did with an action.

    `diverged`: the effect happened, but what the app holds afterwards differs from what was
    approved, or could not be read back (see `governance.gate.verify`); `on_divergence` then
    says what policy wants done about it.
    """

    model_config = ConfigDict(frozen=True)

    status: OutcomeStatus
    action_id: str
    action_kind: str
    decision: Decision | None = None
    approval_id: str | None = None
    result: dict[str, Any] = Field(default_factory=dict)
    message: str = ""
    on_divergence: OnDivergence | None = None

    @property
    def done(self) -> bool:
        """True when the effect happened (now, in an earlier run, found by reconciling, or
        done but read back other than approved: `diverged`)."""
        return self.status in DONE_STATUSES

    @property
    def goes_on(self) -> bool:
        """True when the robot may go on to its next step: the effect happened (and, if it
        diverged, policy only flags that), or this is a plan and the policy did not deny it."""
        if self.status == "diverged":
            return self.on_divergence in (None, "flag")
        return self.done or (self.status == "planned" and self.decision is not None
                             and self.decision.outcome != "deny")
