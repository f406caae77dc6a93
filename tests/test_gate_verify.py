"""Effect verification with real regorus and a real SQLite ledger: after an effect the robot
reads the record back, the Gate compares it with what was approved and records
`action.verified`, `action.diverged` or `action.unverified`; policy's `on_divergence` says what
a divergence means; a diverged effect is never done again; a plan never reads back."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from sqlalchemy import text

from governance.gate import Gate, Verify
from governance.models import Action, Decision
from governance.policy.regorus import RegorusEngine
from governance.waiting.polling import PollingWaiter
from proctor.composition import Governance, Settings, build
from tests.conftest import add_people
from tests.test_gate import Effect, action, kinds

DESCRIPTION = ("Quarterly maintenance of the conveyor lines in hall 3, including spare parts, "
               "travel and the safety inspection that the insurer asked for in October")


class ReadBack:
    """A robot's read-back: answers what the app is said to hold, and counts its calls."""

    def __init__(self, holds: dict[str, object] | None = None,
                 error: Exception | None = None) -> None:
        self.holds, self.error = holds or {}, error
        self.calls: list[tuple[Action, dict]] = []

    def __call__(self, a: Action, result: dict) -> dict[str, object]:
        self.calls.append((a, result))
        if self.error is not None:
            raise self.error
        return dict(self.holds)


def described(**extra: object) -> Action:
    return action(description=DESCRIPTION, **extra)


def last(governance: Governance, kind: str) -> dict:
    return governance.reader.query(kind=kind)[-1].data()


def test_a_record_read_back_as_approved_is_verified(governance: Governance) -> None:
    effect = Effect()
    read = ReadBack({"invoice_number": "INV-1", "amount": "100.0", "description": DESCRIPTION})
    outcome = governance.gate.submit(described(), effect, verify=read)
    assert outcome.status == "succeeded" and outcome.done and outcome.goes_on
    assert kinds(governance)[-2:] == ["action.succeeded", "action.verified"]
    assert last(governance, "action.verified")["compared"] == [
        "amount", "description", "invoice_number"]  # "100.0" is the number 100.00
    ((carried_out, result),) = read.calls
    assert carried_out == effect.done[0] and result == {"released": "INV-1"}
    assert governance.reader.verify().ok


def test_a_field_the_app_altered_diverges_with_both_values_in_the_ledger(
        governance: Governance) -> None:
    wrapped = textwrap.fill(DESCRIPTION, 80)  # the app hard-wraps at 80 columns
    assert "\n" in wrapped
    effect = Effect()
    outcome = governance.gate.submit(described(), effect,
                                     verify=ReadBack({"description": wrapped, "amount": "100"}))
    assert outcome.status == "diverged" and outcome.done and outcome.goes_on
    assert outcome.on_divergence == "flag" and "description" in outcome.message
    assert kinds(governance)[-2:] == ["action.succeeded", "action.diverged"]
    entry = last(governance, "action.diverged")
    assert entry["fields"] == ["description"] and entry["compared"] == ["amount", "description"]
    assert entry["approved"] == {"description": DESCRIPTION}
    assert entry["read"] == {"description": wrapped}
    assert entry["on_divergence"] == "flag" and len(effect.done) == 1


def test_a_declared_line_break_normalisation_verifies_the_wrapped_text(
        governance: Governance) -> None:
    read = ReadBack({"description": textwrap.fill(DESCRIPTION, 80)})
    outcome = governance.gate.submit(
        described(), Effect(), verify=Verify(read, normalise={"description": "line_breaks"}))
    assert outcome.status == "succeeded"
    assert kinds(governance)[-1] == "action.verified"


@pytest.mark.parametrize(("approved", "read", "same"), [
    ("100.00", "100", True), ("100.00", "100.01", False), (100, "100.0", True),
    ("INV-1", "INV-1 ", False),  # no silent whitespace normalisation
    ("a b", "a\nb", False), ("Globex", "globex", False), (True, "true", True),
    ("1,000.00", "1000.00", False),  # not a plain number: compared as text
])
def test_values_compare_exactly_unless_numbers(approved: object, read: str, same: bool) -> None:
    assert Verify(ReadBack()).same("field", approved, read) is same


def test_normalisers_are_declared_by_name_or_callable() -> None:
    verify = Verify(ReadBack(), normalise={"name": ["whitespace", "case"],
                                           "iban": lambda s: s.replace(" ", "")})
    assert verify.same("name", "Globex  Corporation", " globex corporation")
    assert verify.same("iban", "DE89370400440532013000", "DE89 3704 0044 0532 0130 00")
    assert not verify.same("other", "Globex", "globex")
    with pytest.raises(ValueError, match="unknown normaliser 'spaces'"):
        Verify(ReadBack(), normalise={"name": "spaces"})


def test_a_read_back_that_raises_is_unverified_and_never_done_again(
        governance: Governance) -> None:
    effect = Effect()
    read = ReadBack(error=TimeoutError("the invoice page did not load in 10 s"))
    outcome = governance.gate.submit(described(), effect, verify=read)
    assert outcome.status == "diverged" and "could not read the effect back" in outcome.message
    entry = last(governance, "action.unverified")
    assert entry["error"] == "TimeoutError: the invoice page did not load in 10 s"
    assert kinds(governance)[-2:] == ["action.succeeded", "action.unverified"]
    again = governance.gate.submit(described(), effect, verify=read)
    assert again.status == "diverged" and "could not be read back" in again.message
    assert len(effect.done) == 1 and len(read.calls) == 1
    assert kinds(governance).count("action.started") == 1


def test_a_read_back_naming_what_was_not_approved_is_unverified(governance: Governance) -> None:
    outcome = governance.gate.submit(described(), Effect(),
                                     verify=ReadBack({"colour": "blue"}))
    assert outcome.status == "diverged"
    assert "colour" in last(governance, "action.unverified")["error"]


def test_expected_values_beyond_the_params_are_compared(governance: Governance) -> None:
    read = ReadBack({"invoice_number": "INV-1", "status": "entered"})
    outcome = governance.gate.submit(action(), Effect(),
                                     verify=Verify(read, expect={"status": "released"}))
    assert outcome.status == "diverged"
    entry = last(governance, "action.diverged")
    assert entry["approved"] == {"status": "released"} and entry["read"] == {"status": "entered"}


def test_a_replay_after_a_divergence_does_not_perform_again(governance: Governance) -> None:
    effect = Effect()
    read = ReadBack({"description": "something else"})
    first = governance.gate.submit(described(), effect, verify=read)
    again = governance.gate.submit(described(), effect, verify=read)
    assert first.status == again.status == "diverged"
    assert again.on_divergence == "flag" and again.done and again.goes_on
    assert "description differed" in again.message and "not done again" in again.message
    assert len(effect.done) == 1 and len(read.calls) == 1
    assert kinds(governance).count("action.started") == 1


@pytest.fixture
def strict(policy_dir: Path, settings: Settings) -> Governance:
    """Governance whose policy stops the flow on any divergence of a payment release."""
    (policy_dir / "divergence.rego").write_text(
        "package proctor\n\nimport rego.v1\n\n"
        'divergence_handling contains "fail" if input.action.kind == "acme.release_payment"\n')
    built = build(settings, resume_runs=False)
    add_people(built)
    return built


def test_on_divergence_fail_stops_the_flow(strict: Governance) -> None:
    effect = Effect()
    outcome = strict.gate.submit(described(), effect, verify=ReadBack({"amount": "10.00"}))
    assert outcome.status == "diverged" and outcome.on_divergence == "fail"
    assert outcome.done and not outcome.goes_on and "policy stops the flow" in outcome.message
    assert outcome.decision is not None and outcome.decision.on_divergence == "fail"
    assert last(strict, "policy.decided")["on_divergence"] == "fail"
    assert last(strict, "action.diverged")["on_divergence"] == "fail"
    again = strict.gate.submit(described(), effect, verify=ReadBack({"amount": "10.00"}))
    assert again.status == "diverged" and not again.goes_on and len(effect.done) == 1


def test_plan_mode_never_reads_back(governance: Governance, policy_dir: Path) -> None:
    planner = Gate(RegorusEngine(policy_dir), governance.writer, governance.reader,
                   governance.approvals, PollingWaiter(governance.approvals, 0.05), plan=True)
    read = ReadBack({"amount": "100.00"})
    outcome = planner.submit(described(), Effect(), verify=read)
    assert outcome.status == "planned" and read.calls == []
    harmless = planner.submit(described(), lambda a: {}, verify=read, harmless=True)
    assert harmless.status == "succeeded" and read.calls == []
    assert governance.reader.count() == 0
    # After a real run diverged, a plan says so (as a rerun would), still reading nothing.
    governance.gate.submit(described(), Effect(), verify=ReadBack({"description": "other"}))
    recorded = governance.reader.count()
    planned = planner.submit(described(), Effect(), verify=read)
    assert planned.status == "diverged" and planned.on_divergence == "flag"
    assert read.calls == [] and governance.reader.count() == recorded


def test_a_sensitive_param_that_diverges_is_not_in_clear_in_the_ledger(
        governance: Governance) -> None:
    iban, shown = "DE89370400440532013000", "DE89370400440532013999"
    a = action(iban=iban).model_copy(update={"sensitive": frozenset({"iban"})})
    outcome = governance.gate.submit(a, Effect(), verify=ReadBack({"iban": shown}))
    assert outcome.status == "diverged"
    entry = last(governance, "action.diverged")
    assert entry["fields"] == ["iban"]
    assert entry["approved"]["iban"] != iban and entry["read"]["iban"] != shown
    assert entry["approved"]["iban"] != entry["read"]["iban"]  # keyed hashes still differ
    with governance.writer.engine.connect() as conn:
        stored = " ".join(str(r) for r in conn.execute(text("SELECT * FROM ledger_entries")))
    assert iban not in stored and shown not in stored
    assert governance.reader.verify().ok


def test_a_decision_stored_before_on_divergence_still_loads() -> None:
    old = {"outcome": "allow", "reasons": ["ok"], "approver_group": None, "quorum": 0,
           "expires_in_s": None, "escalate_after_s": None, "escalation_group": None,
           "reauthenticate": False, "policy_revision": "abc"}
    assert Decision.model_validate(old).on_divergence == "flag"
    with pytest.raises(ValueError, match="on_divergence"):
        Decision.model_validate({**old, "on_divergence": "shrug"})


def test_an_on_divergence_the_gate_does_not_know_is_a_deny(policy_dir: Path,
                                                           settings: Settings) -> None:
    (policy_dir / "divergence.rego").write_text(
        "package proctor\n\nimport rego.v1\n\n"
        'divergence_handling contains "shrug" if input.action.kind == "acme.release_payment"\n')
    built = build(settings, resume_runs=False)
    effect = Effect()
    outcome = built.gate.submit(action(), effect, verify=ReadBack({"amount": "100.00"}))
    assert outcome.status == "denied" and "on_divergence" in outcome.message
    assert effect.done == []
