# Rules for documents read by the document inbox: whether an extracted invoice may go on to be
# entered, and when a person must check the fields first. Model output is a suggestion: these
# rules decide. Thresholds and the reviewer group live in data.json under "documents".
package proctor

import rego.v1

docs := data.documents

doc_context := input.context

# --- accept an invoice read from a document -------------------------------------------------

allow contains "document_read_with_confidence" if action.kind == "documents.accept_invoice"

# What the model is sure is not an invoice is not accepted. Its unsure guess goes to a person
# (document_type_uncertain), and a type a person set stands: the flow files what they say is
# not an invoice, and keeps their answer as an example.
deny contains "not_an_invoice" if {
	action.kind == "documents.accept_invoice"
	params.document_type != "invoice"
	params.document_type == doc_context.classification.label
	doc_context.classification.confidence >= docs.classification_threshold
}

doc_type_unsure_guess if {
	params.document_type == doc_context.classification.label
	doc_context.classification.confidence < docs.classification_threshold
}

# The same invoice, read before (same document or a near copy): never twice.
deny contains "near_duplicate_invoice" if {
	action.kind == "documents.accept_invoice"
	doc_context.near_duplicate.similarity >= docs.duplicate_similarity
}

# The robot must have looked; a missing answer is not a "no".
deny contains "duplicate_check_missing" if {
	action.kind == "documents.accept_invoice"
	not is_number(doc_context.near_duplicate.similarity)
}

# Values must have their form, whoever wrote them (the model or a reviewer's edit).
deny contains "malformed_field" if {
	action.kind == "documents.accept_invoice"
	some name in ["net", "tax", "total"]
	params[name] != ""
	not regex.match(`^-?\d{1,12}\.\d{2}$`, params[name])
}

deny contains "malformed_field" if {
	action.kind == "documents.accept_invoice"
	some name in ["issue_date", "due_date"]
	params[name] != ""
	not regex.match(`^\d{4}-\d{2}-\d{2}$`, params[name])
}

deny contains "malformed_field" if {
	action.kind == "documents.accept_invoice"
	params.currency != ""
	not params.currency in data.acme.currencies
}

# A required field that is missing is for a person to fill in.
doc_unsure contains name if {
	action.kind == "documents.accept_invoice"
	some name in docs.required_fields
	object.get(params, name, "") == ""
}

# Fields the model is unsure of go to a person, who confirms or corrects them.
doc_unsure contains name if {
	some name, confidence in doc_context.confidence
	confidence < object.get(docs.field_thresholds, name, docs.default_threshold)
}

# A field the model did not report a confidence for is unsure too.
doc_unsure contains name if {
	some name in docs.required_fields
	not is_number(doc_context.confidence[name])
}

approval contains {
	"reason": "low_confidence_fields",
	"group": docs.reviewer_group,
	"quorum": 1,
	"expires_in_s": docs.review_expires_in_s,
} if {
	action.kind == "documents.accept_invoice"
	count(doc_unsure) > 0
}

approval contains {
	"reason": "document_type_uncertain",
	"group": docs.reviewer_group,
	"quorum": 1,
	"expires_in_s": docs.review_expires_in_s,
} if {
	action.kind == "documents.accept_invoice"
	doc_type_unsure_guess
}

# Hidden characters or text that addresses the machine: a person reads it first.
approval contains {
	"reason": "document_suspicious",
	"group": docs.reviewer_group,
	"quorum": 1,
	"expires_in_s": docs.review_expires_in_s,
} if {
	action.kind == "documents.accept_invoice"
	some _ in doc_context.warnings
}
