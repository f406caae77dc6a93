"""Effect verification: after an effect, the robot reads the record back from the application
and the Gate compares it with the parameters that were approved.

    gate.submit(action, perform, verify=Verify(read=read_invoice,
                                                normalise={"description": "line_breaks"}))

`read(action, result)` runs after `perform` succeeded, with the action carried out (maybe an
approver's edit) and perform's result; it returns what the app holds now for some of the
action's params (param name -> value read back). Each value is compared with
`action.params[name]` (or, for a name that is no param, such as a status the effect should
have set, with `Verify.expect[name]`):

- exactly, as text: strings as they are, other JSON values as canonical JSON;
- as numbers (`Decimal`) when both are plain decimal numbers ("1234.5" equals "1234.50");
- never with silent whitespace, line-break or case normalisation: a robot declares it per
  field, by name (`NORMALISERS`) or as a callable `str -> str`, applied to both sides.

The ledger gets, right after `action.succeeded` (its own commit: the effect is on record as
done even if reading back crashes), one of:

- `action.verified` (the names compared);
- `action.diverged` (per differing field, the approved value and the value read, keyed by the
  param name so the ledger's redaction hashes sensitive ones; and policy's `on_divergence`);
- `action.unverified` (reading back raised, timed out, or returned nothing usable).

A diverged or unverified effect is answered `diverged`: it happened, and is never done again,
but it is not a silent `succeeded`. The decision's `on_divergence` says what it means:
"flag" (the flow goes on), "fail" or "require_approval" (the flow stops; with the latter the
outcome asks a person to acknowledge it; no approval request is opened yet).
The Gate does not run `read` on another thread (browser pages are single-threaded): its
timeouts are the robot's own (Playwright's), and a timeout raised is `action.unverified`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from audit import LedgerWriter, canonical_json
from governance.gate.entries import record
from governance.models import Action, OnDivergence, Outcome
from governance.tracing import tracer

if TYPE_CHECKING:
    from governance.gate.proposal import CallNext, Proposal

ReadBack = Callable[[Action, dict[str, Any]], Mapping[str, Any]]
Normaliser = Callable[[str], str]

_LINE_BREAK = re.compile(r"[ \t]*(?:\r\n|\r|\n)[ \t]*")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")

# The named normalisers a robot may declare per field.
NORMALISERS: dict[str, Normaliser] = {
    # each line break (with the spaces and tabs around it) becomes one space: text the app
    # hard-wraps at word boundaries
    "line_breaks": lambda s: _LINE_BREAK.sub(" ", s),
    # every run of whitespace becomes one space, none at either end
    "whitespace": lambda s: " ".join(s.split()),
    # upper and lower case are the same (Unicode case folding)
    "case": str.casefold,
    # no whitespace at either end
    "strip": str.strip,
}


@dataclass(frozen=True)
class Verify:
    """How a robot reads an effect back: `read(action, result)`, the normalisers per param
    (`normalise`, by name from `NORMALISERS` or callables, applied in order) and the values
    it expects for names that are no params (`expect`, e.g. {"status": "released"})."""

    read: ReadBack
    normalise: Mapping[str, str | Normaliser | Sequence[str | Normaliser]] = field(
        default_factory=dict)
    expect: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, steps in self.normalise.items():
            for step in _steps(steps):
                if isinstance(step, str) and step not in NORMALISERS:
                    raise ValueError(f"verify: unknown normaliser {step!r} for {name!r}; use "
                                     f"one of {sorted(NORMALISERS)} or a callable str -> str")

    def normalised(self, name: str, value: str) -> str:
        """`value` after the normalisers declared for `name` (none: unchanged)."""
        for step in _steps(self.normalise.get(name, ())):
            value = (NORMALISERS[step] if isinstance(step, str) else step)(value)
        return value

    def same(self, name: str, approved: Any, read: Any) -> bool:
        """Whether the value read for `name` is the approved one (see the module's rules)."""
        a = self.normalised(name, as_text(approved))
        r = self.normalised(name, as_text(read))
        if _NUMBER.fullmatch(a) and _NUMBER.fullmatch(r):
            try:
                return Decimal(a) == Decimal(r)
            except InvalidOperation:  # pragma: no cover - the pattern admits valid numbers only
                return False
        return a == r


def as_verify(verify: Verify | ReadBack | None) -> Verify | None:
    """A `Verify` from what a robot passed: a `Verify`, a bare read callable, or None."""
    if verify is None or isinstance(verify, Verify):
        return verify
    if not callable(verify):
        raise TypeError(f"verify must be a Verify or a callable (action, result) -> mapping, "
                        f"not {type(verify).__name__}")
    return Verify(read=verify)


def as_text(value: Any) -> str:
    """A value as the text compared: a string as it is, anything else as canonical JSON."""
    if isinstance(value, str):
        return value
    try:
        return canonical_json(value)
    except (TypeError, ValueError):
        return str(value)


def _steps(steps: str | Normaliser | Sequence[str | Normaliser]) -> Sequence[str | Normaliser]:
    return [steps] if isinstance(steps, str) or callable(steps) else list(steps)


def _json(value: Any) -> Any:
    """A value as the ledger can hold it."""
    try:
        canonical_json(value)
    except (TypeError, ValueError):
        return str(value)
    return value


class Verification:
    """Around Execute: after an effect that succeeded, reads it back (`Proposal.verify`),
    compares and records `action.verified`, `action.diverged` or `action.unverified`; a
    divergence (or a read that failed) is answered `diverged`, with policy's `on_divergence`."""

    def __init__(self, writer: LedgerWriter) -> None:
        self._writer = writer

    def __call__(self, proposal: Proposal, call_next: CallNext) -> Outcome:
        outcome = call_next(proposal)
        verify = proposal.verify
        if verify is None or outcome.status != "succeeded":
            return outcome
        action, on_divergence = proposal.action, proposal.decided.on_divergence
        try:
            with tracer.start_as_current_span("proctor.robot.verify",
                                              attributes={"proctor.action.kind": action.kind}):
                read = verify.read(action, outcome.result)
            expected = _expected(action, verify, read)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            record(self._writer, action, "action.unverified",
                   {"error": error, "on_divergence": on_divergence})
            return _diverged(outcome, on_divergence,
                             f"could not read the effect back ({error}); check the application")
        differing = sorted(n for n, v in read.items() if not verify.same(n, expected[n], v))
        if not differing:
            record(self._writer, action, "action.verified", {"compared": sorted(read)})
            return outcome
        record(self._writer, action, "action.diverged", {
            "compared": sorted(read), "fields": differing,
            "approved": {n: _json(expected[n]) for n in differing},
            "read": {n: _json(read[n]) for n in differing},
            "normalised": {n: [s if isinstance(s, str) else getattr(s, "__name__", "callable")
                               for s in _steps(verify.normalise[n])]
                           for n in differing if n in verify.normalise},
            "on_divergence": on_divergence})
        return _diverged(outcome, on_divergence,
                         f"the application holds other values than approved for "
                         f"{', '.join(differing)}")


def _expected(action: Action, verify: Verify, read: Any) -> dict[str, Any]:
    """The approved value of every name read; a read that is no mapping, is empty, or names
    something with no approved value is a robot's mistake, raised (recorded unverified)."""
    if not isinstance(read, Mapping) or not read:
        raise ValueError(f"verify read back {read!r}: expected a mapping of param names to the "
                         "values the application holds")
    unknown = sorted(str(n) for n in read if n not in action.params and n not in verify.expect)
    if unknown:
        raise ValueError(f"verify read {', '.join(unknown)}, which the action has no value for "
                         "(neither a param nor in Verify.expect)")
    return {n: action.params[n] if n in action.params else verify.expect[n] for n in read}


def _diverged(outcome: Outcome, on_divergence: OnDivergence, why: str) -> Outcome:
    then = {"flag": "flagged; the flow goes on", "fail": "policy stops the flow",
            "require_approval": "the flow stops: a person must check the application "
                                "and acknowledge it"}
    return outcome.model_copy(update={"status": "diverged", "on_divergence": on_divergence,
                                      "message": f"{why} ({then[on_divergence]})"})
