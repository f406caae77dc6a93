# Unit tests for the MiniWoB++ rules; run by `proctor policy test`.
package proctor_test

import rego.v1

miniwob_input(kind, params, context) := {
	"action": {
		"kind": kind,
		"target": "miniwob",
		"robot": "robot:miniwob",
		"requested_by": "miniwob-bench",
		"params": params,
	},
	"context": context,
}

miniwob_ok := {"page_url": "http://127.0.0.1:40123/miniwob/login-user.html", "form_resolved": true}

test_miniwob_known_task_on_a_resolved_local_form_is_allowed if {
	d := data.proctor.decision with input as miniwob_input("miniwob.login_user", {"username": "kanesha"}, miniwob_ok)
	d.outcome == "allow"
	d.reasons == ["miniwob_task_known"]
}

test_miniwob_unknown_task_is_denied if {
	d := data.proctor.decision with input as miniwob_input("miniwob.drag_items", {}, miniwob_ok)
	d.outcome == "deny"
	d.reasons == ["miniwob_task_unknown"]
}

test_miniwob_page_elsewhere_is_denied if {
	ctx := object.union(miniwob_ok, {"page_url": "https://example.com/miniwob/login-user.html"})
	d := data.proctor.decision with input as miniwob_input("miniwob.login_user", {}, ctx)
	d.reasons == ["miniwob_page_not_local"]
}

test_miniwob_lookalike_host_is_denied if {
	ctx := object.union(miniwob_ok, {"page_url": "http://127.0.0.1.evil.test/miniwob/x.html"})
	d := data.proctor.decision with input as miniwob_input("miniwob.enter_text", {}, ctx)
	d.reasons == ["miniwob_page_not_local"]
}

test_miniwob_unresolved_form_is_denied if {
	d := data.proctor.decision with input as miniwob_input("miniwob.enter_text", {}, {"page_url": miniwob_ok.page_url})
	d.reasons == ["miniwob_form_not_resolved"]
}

test_miniwob_wrong_target_is_denied if {
	i := miniwob_input("miniwob.enter_text", {}, miniwob_ok)
	d := data.proctor.decision with input as object.union(i, {"action": {"target": "acme-payables"}})
	"miniwob_wrong_target" in d.reasons
}

test_miniwob_booking_within_budget_is_allowed if {
	d := data.proctor.decision with input as miniwob_input("miniwob.book_flight", {"price": 1199}, miniwob_ok)
	d.outcome == "allow"
}

test_miniwob_booking_over_budget_is_denied if {
	d := data.proctor.decision with input as miniwob_input("miniwob.book_flight", {"price": 1500}, miniwob_ok)
	d.reasons == ["miniwob_flight_over_budget"]
}

test_miniwob_rules_leave_other_kinds_alone if {
	d := data.proctor.decision with input as {"action": {"kind": "acme.login", "target": "acme-payables", "robot": "robot:acme", "requested_by": "alice", "params": {}}, "context": {}}
	d.outcome == "allow"
}
