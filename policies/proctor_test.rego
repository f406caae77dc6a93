# Unit tests for on_divergence in proctor.rego (effect verification); run by `proctor policy test`.
package proctor_test

import rego.v1

divergence_invoice := {
	"kind": "acme.create_invoice",
	"target": "acme-payables",
	"robot": "robot:acme",
	"requested_by": "alice",
	"params": {"vendor": "Globex Corporation", "invoice_number": "INV-1", "amount": "1250.00", "currency": "EUR"},
}

divergence_context := {"duplicate_invoice": false, "vendor_exists": true}

test_on_divergence_flags_by_default if {
	d := data.proctor.decision with input as {"action": divergence_invoice, "context": divergence_context}
	d.outcome == "allow"
	d.on_divergence == "flag"
}

test_on_divergence_per_kind_from_data if {
	d := data.proctor.decision with input as {"action": divergence_invoice, "context": divergence_context}
		with data.proctor.on_divergence_by_kind as {"acme.create_invoice": "fail"}
	d.on_divergence == "fail"
}

test_on_divergence_other_kind_is_not_affected if {
	d := data.proctor.decision with input as {"action": divergence_invoice, "context": divergence_context}
		with data.proctor.on_divergence_by_kind as {"acme.release_payment": "fail"}
	d.on_divergence == "flag"
}

test_on_divergence_strictest_rule_wins if {
	d := data.proctor.decision with input as {"action": divergence_invoice, "context": divergence_context}
		with data.proctor.divergence_handling as {"require_approval", "fail"}
	d.on_divergence == "fail"
}

test_on_divergence_require_approval if {
	d := data.proctor.decision with input as {"action": divergence_invoice, "context": divergence_context}
		with data.proctor.on_divergence_by_kind as {"acme.create_invoice": "require_approval"}
	d.on_divergence == "require_approval"
}

test_on_divergence_unknown_value_denies if {
	d := data.proctor.decision with input as {"action": divergence_invoice, "context": divergence_context}
		with data.proctor.on_divergence_by_kind as {"acme.create_invoice": "shrug"}
	d.on_divergence == "shrug" # not a value the Gate knows: its decision parsing denies it
}
