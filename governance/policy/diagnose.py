"""Policy errors a person can act on: the file, line and rule, and what the input looks like.

    describe(exc, package)   # regorus's message -> "app.rego line 5 (rule approval): ..."
    check_input_refs(package)  # raises PolicyError for `input.action.amount` and the like
    INPUT_SHAPE               # the JSON shape of Action.policy_input(), in one line
"""

from __future__ import annotations

import re

from governance.errors import PolicyError
from governance.models import Action
from governance.policy.package import PolicyPackage, package_of

ACTION_FIELDS = tuple(n for n in Action.model_fields if n not in ("context", "sensitive"))
INPUT_SHAPE = ('the input is {"action": {' + ", ".join(
    f'"{n}": {{...}}' if n == "params" else f'"{n}": ...' for n in ACTION_FIELDS)
    + '}, "context": {...}} (Action.policy_input()); in package proctor `action` is '
    "input.action and `params` is input.action.params, e.g. input.action.params.amount")

_LOCATION = re.compile(r"-->\s*(?P<name>[^\s:]+):(?P<line>\d+):(?P<col>\d+)")
_MESSAGE = re.compile(r"^error:\s*(?P<msg>.+)$", re.MULTILINE)
_RULE_HEAD = re.compile(r"^(?:default\s+)?([A-Za-z_][A-Za-z0-9_]*)")
_NOT_RULES = {"package", "import"}
_STRINGS = re.compile(r'"(?:\\.|[^"\\])*"|`[^`]*`')
_INPUT_REF = re.compile(r"\binput\.([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?")
_ACTION_REF = re.compile(r"(?<![\w.])action\.([A-Za-z_][A-Za-z0-9_]*)")


def describe(exc: BaseException, package: PolicyPackage | None = None) -> str:
    """regorus's message for `exc`, rewritten to name the file, line and rule, and to show the
    input's shape when the problem is an undefined (unsafe) variable."""
    text = str(exc).split("Stack backtrace:")[0].strip()
    location, message = _LOCATION.search(text), _MESSAGE.search(text)
    if location is None or message is None:
        return " ".join(line.strip() for line in text.splitlines() if line.strip())[:500]
    name, line = location["name"], int(location["line"])
    where = f"{name} line {line}"
    rule = _rule_at(_source(package, name), line)
    if rule:
        where += f" (rule {rule})"
    described = f"{where}: {message['msg'].strip()}"
    if "undefined" in described or "unsafe" in described:
        described += f"; {INPUT_SHAPE}"
    return described


def check_input_refs(package: PolicyPackage) -> None:
    """Refuse a rule that reads a part of the input no action has (`input.action.amount`,
    `input.params`): it would silently never match. Context keys are the robot's own."""
    for name, path in package.modules():
        source = path.read_text("utf-8", errors="replace")
        in_proctor = package_of(source) == "proctor"
        for number, raw in enumerate(source.splitlines(), start=1):
            code = _STRINGS.sub('""', raw.split("#", 1)[0])
            wrong = [m.group(0) for m in _INPUT_REF.finditer(code) if _bad_input_ref(m)]
            if in_proctor:
                wrong += [m.group(0) for m in _ACTION_REF.finditer(code)
                          if m.group(1) not in ACTION_FIELDS]
            if wrong:
                rule = _rule_at(source, number)
                raise PolicyError(
                    f"{name} line {number}{f' (rule {rule})' if rule else ''}: {wrong[0]} is "
                    f"not part of the input, so the rule could never match; {INPUT_SHAPE}")


def _bad_input_ref(match: re.Match[str]) -> bool:
    top, sub = match.group(1), match.group(2)
    if top not in ("action", "context"):
        return True
    return top == "action" and sub is not None and sub not in ACTION_FIELDS


def _source(package: PolicyPackage | None, name: str) -> str:
    if package is None:
        return ""
    for module, path in package.modules() + package.tests():
        if module == name:
            return path.read_text("utf-8", errors="replace")
    return ""


def _rule_at(source: str, line: int) -> str | None:
    """The rule whose body holds `line`: the nearest rule head at column 0 at or above it."""
    lines = source.splitlines()
    for text in reversed(lines[:line]):
        match = _RULE_HEAD.match(text)
        if match and match.group(1) not in _NOT_RULES:
            return match.group(1)
        if text.startswith(("package", "import")):
            return None
    return None

