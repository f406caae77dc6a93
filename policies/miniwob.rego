# Rules for the MiniWoB++ benchmark robots (robots/miniwob): which tasks they may submit, and
# only on the task pages served on this machine, and only forms they have fully resolved.
package proctor

import rego.v1

miniwob_tasks := {
	"login_user", "login_user_popup", "enter_password", "enter_text", "enter_text_2",
	"enter_date", "enter_time", "multi_layouts", "multi_orderings", "click_checkboxes",
	"click_option", "choose_list", "use_autocomplete", "book_flight", "email_inbox",
}

# The most a benchmark robot may spend on one booking (the task's prices stay below it).
miniwob_flight_budget := 1200

miniwob_action if startswith(action.kind, "miniwob.")

miniwob_task := trim_prefix(action.kind, "miniwob.")

allow contains "miniwob_task_known" if {
	miniwob_action
	miniwob_task in miniwob_tasks
}

deny contains "miniwob_task_unknown" if {
	miniwob_action
	not miniwob_task in miniwob_tasks
}

deny contains "miniwob_wrong_target" if {
	miniwob_action
	action.target != "miniwob"
}

# The benchmark pages are served on loopback; a robot pointed anywhere else stops.
deny contains "miniwob_page_not_local" if {
	miniwob_action
	not miniwob_local_page
}

miniwob_local_page if regex.match(`^http://(127\.0\.0\.1|localhost)(:[0-9]+)?/`, input.context.page_url)

# The robot must have found every field and button it will touch before it proposes.
deny contains "miniwob_form_not_resolved" if {
	miniwob_action
	not input.context.form_resolved == true
}

deny contains "miniwob_flight_over_budget" if {
	action.kind == "miniwob.book_flight"
	to_number(params.price) > miniwob_flight_budget
}
