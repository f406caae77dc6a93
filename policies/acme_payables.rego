# Rules for the Acme Payables application. Lists and limits live in data.json under "acme".
package proctor

import rego.v1

acme := data.acme

amount := to_number(params.amount)

# --- log in ---------------------------------------------------------------------------------

allow contains "acme_login" if action.kind == "acme.login"

# --- enter an invoice -----------------------------------------------------------------------

allow contains "invoice_within_rules" if action.kind == "acme.create_invoice"

deny contains "vendor_not_approved" if {
	action.kind in {"acme.create_invoice", "acme.change_bank_account"}
	not params.vendor in acme.approved_vendors
}

deny contains "vendor_unknown_in_app" if {
	action.kind == "acme.create_invoice"
	input.context.vendor_exists == false
}

deny contains "duplicate_invoice" if {
	action.kind == "acme.create_invoice"
	input.context.duplicate_invoice == true
}

# The robot must have looked; a missing answer is not a "no".
deny contains "duplicate_check_missing" if {
	action.kind == "acme.create_invoice"
	not is_boolean(input.context.duplicate_invoice)
}

deny contains "currency_not_allowed" if {
	action.kind == "acme.create_invoice"
	not params.currency in acme.currencies
}

deny contains "amount_not_positive" if {
	action.kind in {"acme.create_invoice", "acme.release_payment"}
	amount <= 0
}

deny contains "amount_over_hard_limit" if {
	action.kind in {"acme.create_invoice", "acme.release_payment"}
	amount > acme.limits.hard_limit
}

# --- release a payment ----------------------------------------------------------------------

allow contains "payment_within_limit" if action.kind == "acme.release_payment"

deny contains "invoice_not_entered" if {
	action.kind == "acme.release_payment"
	not input.context.invoice_status == "entered"
}

approval contains {
	"reason": "amount_over_approval_limit",
	"group": acme.approvals.payment_group,
	"quorum": acme.approvals.payment_quorum,
	"expires_in_s": acme.approvals.expires_in_s,
} if {
	action.kind == "acme.release_payment"
	amount > acme.limits.approval_limit
}

# --- change a vendor's bank account: always four eyes ---------------------------------------

allow contains "bank_change_requested" if action.kind == "acme.change_bank_account"

approval contains {
	"reason": "bank_account_change",
	"group": acme.approvals.bank_group,
	"quorum": acme.approvals.bank_quorum,
	"expires_in_s": acme.approvals.expires_in_s,
} if {
	action.kind == "acme.change_bank_account"
}
