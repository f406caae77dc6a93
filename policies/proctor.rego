# The single decision every action gets. Rule sets for each application add to the sets
# `deny`, `approval` and `allow` below; this file turns them into one decision object.
#
# Order of precedence: any deny reason wins, then any approval requirement, then an explicit
# allow. An action that no rule set allows is denied (default).
package proctor

import rego.v1

default decision := {
	"outcome": "deny",
	"reasons": ["no_rule_allows_action"],
	"approver_group": null,
	"quorum": 0,
	"expires_in_s": null,
}

decision := {
	"outcome": "deny",
	"reasons": sort_reasons(deny),
	"approver_group": null,
	"quorum": 0,
	"expires_in_s": null,
} if {
	count(deny) > 0
}

decision := {
	"outcome": "require_approval",
	"reasons": reasons,
	"approver_group": approver_group,
	"quorum": quorum,
	"expires_in_s": expires_in_s,
} if {
	count(deny) == 0
	count(approval) > 0
	reasons := sort([r.reason | r := approval[_]])
	quorum := max([r.quorum | r := approval[_]])
	expires_in_s := min([r.expires_in_s | r := approval[_]])
}

decision := {
	"outcome": "allow",
	"reasons": sort_reasons(allow),
	"approver_group": null,
	"quorum": 0,
	"expires_in_s": null,
} if {
	count(deny) == 0
	count(approval) == 0
	count(allow) > 0
}

# One group decides; requirements naming different groups go to the escalation group.
approver_group := g if {
	groups := {r.group | r := approval[_]}
	count(groups) == 1
	some g in groups
}

approver_group := data.proctor.escalation_group if {
	count({r.group | r := approval[_]}) > 1
}

sort_reasons(s) := sort([r | some r in s])

action := input.action

params := input.action.params
