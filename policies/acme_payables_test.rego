# Unit tests for the Acme Payables rules; run by `proctor policy test` and `make test`.
package proctor_test

import rego.v1

invoice(overrides) := object.union(
	{
		"kind": "acme.create_invoice",
		"target": "acme-payables",
		"robot": "robot:acme",
		"requested_by": "alice",
		"params": {"vendor": "Globex Corporation", "invoice_number": "INV-1", "amount": "1250.00", "currency": "EUR"},
	},
	overrides,
)

clean := {"duplicate_invoice": false, "vendor_exists": true}

payment(amount) := {
	"kind": "acme.release_payment",
	"target": "acme-payables",
	"robot": "robot:acme",
	"requested_by": "alice",
	"params": {"vendor": "Globex Corporation", "invoice_number": "INV-1", "amount": amount, "currency": "EUR"},
}

test_ordinary_invoice_is_allowed if {
	d := data.proctor.decision with input as {"action": invoice({}), "context": clean}
	d.outcome == "allow"
}

test_unknown_vendor_is_denied if {
	a := invoice({"params": {"vendor": "Shady Ltd", "invoice_number": "X", "amount": "5", "currency": "EUR"}})
	d := data.proctor.decision with input as {"action": a, "context": clean}
	d.outcome == "deny"
	"vendor_not_approved" in d.reasons
}

test_duplicate_is_denied if {
	d := data.proctor.decision with input as {"action": invoice({}), "context": {"duplicate_invoice": true, "vendor_exists": true}}
	d.outcome == "deny"
	d.reasons == ["duplicate_invoice"]
}

test_missing_duplicate_check_is_denied if {
	d := data.proctor.decision with input as {"action": invoice({}), "context": {}}
	d.outcome == "deny"
	"duplicate_check_missing" in d.reasons
}

test_amount_over_hard_limit_is_denied if {
	a := invoice({"params": {"vendor": "Globex Corporation", "invoice_number": "X", "amount": "250000.01", "currency": "EUR"}})
	d := data.proctor.decision with input as {"action": a, "context": clean}
	d.reasons == ["amount_over_hard_limit"]
}

test_small_payment_is_allowed if {
	d := data.proctor.decision with input as {"action": payment("9999.99"), "context": {"invoice_status": "entered"}}
	d.outcome == "allow"
}

test_large_payment_needs_finance_approval if {
	d := data.proctor.decision with input as {"action": payment("48500.00"), "context": {"invoice_status": "entered"}}
	d.outcome == "require_approval"
	d.approver_group == "finance-approvers"
	d.quorum == 1
	d.expires_in_s == 86400
	d.reasons == ["amount_over_approval_limit"]
}

test_limit_comes_from_data if {
	d := data.proctor.decision with input as {"action": payment("500.00"), "context": {"invoice_status": "entered"}}
		with data.acme.limits.approval_limit as 100
	d.outcome == "require_approval"
}

test_payment_for_unentered_invoice_is_denied if {
	d := data.proctor.decision with input as {"action": payment("10.00"), "context": {}}
	d.reasons == ["invoice_not_entered"]
}

test_bank_change_needs_treasury if {
	a := {
		"kind": "acme.change_bank_account", "target": "acme-payables", "robot": "robot:acme",
		"requested_by": "alice", "params": {"vendor": "Initech GmbH", "new_iban": "x"},
	}
	d := data.proctor.decision with input as {"action": a, "context": {}}
	d.outcome == "require_approval"
	d.approver_group == "treasury"
}

test_unknown_action_is_denied if {
	a := {"kind": "acme.delete_everything", "target": "acme-payables", "robot": "r", "requested_by": "a", "params": {}}
	d := data.proctor.decision with input as {"action": a, "context": {}}
	d.outcome == "deny"
	d.reasons == ["no_rule_allows_action"]
}

test_two_groups_escalate if {
	g := data.proctor.approver_group with data.proctor.approval as {
		{"reason": "a", "group": "finance-approvers", "quorum": 1, "expires_in_s": 10},
		{"reason": "b", "group": "treasury", "quorum": 2, "expires_in_s": 20},
	}
	g == "risk-committee"
}

test_pending_approvals_escalate_to_the_risk_committee if {
	d := data.proctor.decision with input as {"action": payment("48500.00"), "context": {"invoice_status": "entered"}}
	d.escalation_group == "risk-committee"
	d.escalate_after_s == data.proctor.escalate_after_s
	d.reauthenticate == false
}

test_bank_change_needs_a_fresh_password if {
	change := {"kind": "acme.change_bank_account", "target": "acme-payables", "robot": "robot:acme", "requested_by": "alice", "params": {"vendor": "Globex Corporation", "old_iban": "X", "new_iban": "Y"}}
	d := data.proctor.decision with input as {"action": change, "context": {}}
	d.reauthenticate == true
}
