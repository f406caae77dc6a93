"""What every MiniWoB++ robot shares: read the instruction, find the form by meaning, and send
the one side effect (the submit) through the Gate as an Action of kind `miniwob.<task>`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from governance.errors import BusinessRuleError
from governance.models import Action, Outcome
from robots.attempt import Attempt
from robots.forms import Field, FieldValue, Form

if TYPE_CHECKING:
    from governance.gate import Gate

Values = Mapping[Field | str, FieldValue]


class TaskRobot:
    """A robot for one task. Subclasses set `task` and implement `run`; most fill one form with
    `fill_and_submit`."""

    task: ClassVar[str]
    sensitive: ClassVar[frozenset[str]] = frozenset()
    robot: ClassVar[str] = "robot:miniwob"  # the robot's service identity (`Action.robot`)
    target: ClassVar[str] = "miniwob"

    def __init__(self, gate: Gate, *, requested_by: str = "miniwob-bench") -> None:
        self.gate = gate
        self.requested_by = requested_by

    @property
    def kind(self) -> str:
        return "miniwob." + self.task.replace("-", "_")

    def run(self, attempt: Attempt, utterance: str, key: str) -> Outcome:
        """Carry out the instruction `utterance`; the Outcome of the submitting action."""
        raise NotImplementedError

    def understand(self, pattern: str, utterance: str) -> re.Match[str]:
        """The instruction parsed by `pattern`, or a BusinessRuleError (retrying cannot help)."""
        found = re.search(pattern, utterance)
        if found is None:
            raise BusinessRuleError(f"{self.task}: instruction not understood: {utterance!r}")
        return found

    def propose(self, attempt: Attempt, key: str, params: dict[str, Any],
                perform: Callable[[Action], dict[str, Any]],
                facts: Mapping[str, Any]) -> Outcome:
        """Send the side effect `perform` through the Gate as this task's Action."""
        action = Action(kind=self.kind, target=self.target, robot=self.robot,
                        requested_by=self.requested_by, step=f"{self.task} submit",
                        idempotency_key=key, params=params, sensitive=self.sensitive,
                        context={"task": self.task, **facts})
        return attempt.submit(self.gate, action, perform)

    def fill_and_submit(self, attempt: Attempt, key: str, params: dict[str, Any],
                        fields: Callable[[Mapping[str, Any]], Values], buttons: tuple[str, ...],
                        *, within: str | None = None) -> Outcome:
        """Find the form (nothing touched) and the button, propose, and let the Gate decide
        whether to fill and click. An approver's edited params are filled as edited."""
        form = attempt.form(fields(params), submit=buttons, within=within)

        def perform(action: Action) -> dict[str, Any]:
            chosen: Form = form if action.params == params else attempt.form(
                fields(action.params), submit=buttons, within=within)
            chosen.fill()
            chosen.submit()
            return {"filled": [f.field.describe() for f in chosen]}

        return self.propose(attempt, key, params, perform, form.facts())
