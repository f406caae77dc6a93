# Unit tests for the document rules; run by `proctor policy test` and `make test`.
package documents_test

import rego.v1

accept(overrides) := object.union(
	{
		"kind": "documents.accept_invoice",
		"target": "documents",
		"robot": "robot:document-inbox",
		"requested_by": "alice",
		"params": {
			"document_type": "invoice", "vendor_name": "Globex Corporation", "invoice_number": "INV-1",
			"issue_date": "2026-11-02", "due_date": "2026-12-02", "currency": "EUR", "total": "1250.00",
			"iban": "DE89370400440532013000",
		},
	},
	overrides,
)

sure := {
	"vendor_name": 0.97, "invoice_number": 0.99, "issue_date": 0.95, "currency": 0.99,
	"total": 0.98, "iban": 0.99,
}

clean := {
	"confidence": sure, "classification": {"label": "invoice", "confidence": 0.97},
	"near_duplicate": {"of": "d-7", "similarity": 0.41, "same_fields": []}, "warnings": [],
}

test_confident_invoice_is_allowed if {
	d := data.proctor.decision with input as {"action": accept({}), "context": clean}
	d.outcome == "allow"
}

test_near_duplicate_is_denied if {
	ctx := object.union(clean, {"near_duplicate": {"of": "d-1", "similarity": 0.99, "same_fields": ["iban", "total"]}})
	d := data.proctor.decision with input as {"action": accept({}), "context": ctx}
	d.outcome == "deny"
	"near_duplicate_invoice" in d.reasons
}

test_missing_duplicate_check_is_denied if {
	ctx := object.remove(clean, ["near_duplicate"])
	d := data.proctor.decision with input as {"action": accept({}), "context": ctx}
	"duplicate_check_missing" in d.reasons
}

test_unsure_iban_goes_to_a_reviewer if {
	ctx := object.union(clean, {"confidence": object.union(sure, {"iban": 0.6})})
	d := data.proctor.decision with input as {"action": accept({}), "context": ctx}
	d.outcome == "require_approval"
	d.reasons == ["low_confidence_fields"]
	d.approver_group == "document-reviewers"
}

test_a_field_without_confidence_is_unsure if {
	ctx := json.remove(clean, ["confidence/total"])
	d := data.proctor.decision with input as {"action": accept({}), "context": ctx}
	d.outcome == "require_approval"
}

test_hidden_characters_go_to_a_reviewer if {
	ctx := object.union(clean, {"warnings": ["invisible characters removed: U+200B"]})
	d := data.proctor.decision with input as {"action": accept({}), "context": ctx}
	d.reasons == ["document_suspicious"]
}

test_a_receipt_is_not_entered_as_an_invoice if {
	a := accept({"params": object.union(accept({}).params, {"document_type": "receipt"})})
	ctx := object.union(clean, {"classification": {"label": "receipt", "confidence": 0.97}})
	d := data.proctor.decision with input as {"action": a, "context": ctx}
	"not_an_invoice" in d.reasons
}

test_missing_total_goes_to_a_reviewer if {
	a := accept({"params": object.union(accept({}).params, {"total": ""})})
	d := data.proctor.decision with input as {"action": a, "context": clean}
	d.reasons == ["low_confidence_fields"]
}

test_a_malformed_total_is_denied if {
	a := accept({"params": object.union(accept({}).params, {"total": "lots"})})
	d := data.proctor.decision with input as {"action": a, "context": clean}
	d.reasons == ["malformed_field"]
}

test_a_type_set_by_a_person_stands if {
	a := accept({"params": object.union(accept({}).params, {"document_type": "credit_note"})})
	d := data.proctor.decision with input as {"action": a, "context": clean}
	d.outcome == "allow"
}

test_an_unsure_type_goes_to_a_reviewer if {
	a := accept({"params": object.union(accept({}).params, {"document_type": "receipt"})})
	ctx := object.union(clean, {"classification": {"label": "receipt", "confidence": 0.55}})
	d := data.proctor.decision with input as {"action": a, "context": ctx}
	d.outcome == "require_approval"
	"document_type_uncertain" in d.reasons
}

test_a_reviewer_who_says_invoice_is_followed if {
	ctx := object.union(clean, {"classification": {"label": "receipt", "confidence": 0.55}})
	d := data.proctor.decision with input as {"action": accept({}), "context": ctx}
	d.outcome == "allow"
}
