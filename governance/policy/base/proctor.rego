# The single decision every action gets. Rule sets for each application add to the sets
# `deny`, `approval` and `allow` below; this file turns them into one decision object.
#
# This is the engine's base: it ships with Proctor (governance/policy/base/) and every policy
# engine loads it before the rules of your policy folder, so your folder holds only your app's
# rules and data. The data it reads (`data.proctor.escalation_group`, `escalate_after_s`,
# `high_risk_reasons`) has defaults in defaults.json beside it; your data.json may override them.
#
# A require_approval decision also says when the request escalates (still pending after
# `escalate_after_s`, the escalation group may decide too) and whether approvers must confirm
# their password first (`reauthenticate`: any reason in the set `high_risk`).
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
	"escalate_after_s": null,
	"escalation_group": null,
	"reauthenticate": false,
}

decision := {
	"outcome": "deny",
	"reasons": sort_reasons(deny),
	"approver_group": null,
	"quorum": 0,
	"expires_in_s": null,
	"escalate_after_s": null,
	"escalation_group": null,
	"reauthenticate": false,
} if {
	count(deny) > 0
}

decision := {
	"outcome": "require_approval",
	"reasons": reasons,
	"approver_group": approver_group,
	"quorum": quorum,
	"expires_in_s": expires_in_s,
	"escalate_after_s": escalation.after_s,
	"escalation_group": escalation.group,
	"reauthenticate": count(high_risk) > 0,
	"on_divergence": on_divergence,
} if {
	count(deny) == 0
	count(approval) > 0
	reasons := sort([r.reason | r := approval[_]])
	quorum := max([r.quorum | r := approval[_]])
	expires_in_s := min([r.expires_in_s | r := approval[_]])
}

# Escalation goes to the fallback group unless that group already decides.
default escalation := {"after_s": null, "group": null}

escalation := {"after_s": data.proctor.escalate_after_s, "group": data.proctor.escalation_group} if {
	approver_group != data.proctor.escalation_group
}

decision := {
	"outcome": "allow",
	"reasons": sort_reasons(allow),
	"approver_group": null,
	"quorum": 0,
	"expires_in_s": null,
	"escalate_after_s": null,
	"escalation_group": null,
	"reauthenticate": false,
	"on_divergence": on_divergence,
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

# Reasons that make approvers confirm their password; application rule sets add to it.
high_risk contains r if {
	some r in data.proctor.high_risk_reasons
	some a in approval
	a.reason == r
}

sort_reasons(s) := sort([r | some r in s])

# The three sets are empty until an application's rules add to them, so a policy folder may use
# any one of them alone.
deny contains r if some r in []

approval contains r if some r in []

allow contains r if some r in []

action := input.action

params := input.action.params

# What the Gate does when an effect, read back from the app, differs from what was approved
# (or cannot be read back): "flag" (default: record it, the flow goes on), "require_approval"
# (the flow stops; a person must acknowledge it) or "fail" (the flow stops). Rule sets add to
# the set `divergence_handling`; data may name one per action kind in
# `data.proctor.on_divergence_by_kind` (e.g. {"acme.change_bank_account": "fail"}). The
# strictest wins; a value the Gate does not know makes the decision invalid, hence a deny.
default on_divergence := "flag"

on_divergence := "fail" if "fail" in divergence_handling

on_divergence := "require_approval" if {
	not "fail" in divergence_handling
	"require_approval" in divergence_handling
}

# Any value the Gate does not know, alone or beside others, is no clear answer: a deny.
on_divergence := h if {
	some h in divergence_handling
	not h in {"flag", "fail", "require_approval"}
}

divergence_handling contains h if {
	h := data.proctor.on_divergence_by_kind[action.kind]
}
