"""Robots for MiniWoB++'s form tasks: each parses the instruction into parameters and describes
the form by what a person reads on it, never by its ids."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from pydantic import SecretStr

from bench.miniwob.robot import TaskRobot, Values
from governance.models import Outcome
from robots.attempt import Attempt
from robots.forms import Field


class LoginUser(TaskRobot):
    """login-user: 'Enter the username "x" and the password "y" ... and press login.'"""

    task = "login-user"
    sensitive = frozenset({"password"})
    button = "Login"

    def run(self, attempt: Attempt, utterance: str, key: str) -> Outcome:
        found = self.understand(r'username "(.*?)" and the password "(.*?)"', utterance)
        params = {"username": found[1], "password": found[2]}
        return self.fill_and_submit(attempt, key, params, self.fields, (self.button,))

    @staticmethod
    def fields(p: Mapping[str, Any]) -> Values:
        return {"Username": p["username"], "Password": SecretStr(p["password"])}


class LoginUserPopup(LoginUser):
    """login-user-popup: the same login, interrupted by a 'session expiring' popup that
    disables the form until dismissed (Cancel keeps the session; OK would leave)."""

    task = "login-user-popup"
    button = "OK"

    def run(self, attempt: Attempt, utterance: str, key: str) -> Outcome:
        popup = attempt.page.get_by_text("Exit to home page?")
        attempt.page.add_locator_handler(popup, lambda: attempt.page.locator("#popup").get_by_role(
            "button", name="Cancel").click())
        try:
            return super().run(attempt, utterance, key)
        finally:
            attempt.page.remove_locator_handler(popup)


class EnterPassword(TaskRobot):
    """enter-password: 'Enter the password "x" into both text fields and press submit.'"""

    task = "enter-password"
    sensitive = frozenset({"password"})

    def run(self, attempt: Attempt, utterance: str, key: str) -> Outcome:
        found = self.understand(r'password "(.*?)" into both', utterance)
        return self.fill_and_submit(attempt, key, {"password": found[1]}, self.fields, ("Submit",))

    @staticmethod
    def fields(p: Mapping[str, Any]) -> Values:
        secret = SecretStr(p["password"])
        return {"Password": secret, "Verify password": secret}


class EnterText(TaskRobot):
    """enter-text: 'Enter "x" into the text field and press Submit.'"""

    task = "enter-text"

    def run(self, attempt: Attempt, utterance: str, key: str) -> Outcome:
        found = self.understand(r'Enter "(.*?)" into the text field', utterance)
        return self.fill_and_submit(attempt, key, {"text": found[1]}, self.fields, ("Submit",))

    @staticmethod
    def fields(p: Mapping[str, Any]) -> Values:
        return {Field(kind="text"): p["text"]}


class EnterText2(EnterText):
    """enter-text-2: 'Type "x" in all upper case letters in the text input and press Submit.'"""

    task = "enter-text-2"

    def run(self, attempt: Attempt, utterance: str, key: str) -> Outcome:
        found = self.understand(r'Type "(.*?)" in all (upper|lower) case letters', utterance)
        text = found[1].upper() if found[2] == "upper" else found[1].lower()
        return self.fill_and_submit(attempt, key, {"text": text}, self.fields, ("Submit",))


class EnterDate(TaskRobot):
    """enter-date: 'Enter 03/04/2015 as the date and hit submit.'"""

    task = "enter-date"

    def run(self, attempt: Attempt, utterance: str, key: str) -> Outcome:
        found = self.understand(r"Enter (\d\d/\d\d/\d{4}) as the date", utterance)
        day = datetime.strptime(found[1], "%m/%d/%Y").date()
        return self.fill_and_submit(attempt, key, {"date": day.isoformat()}, self.fields,
                                    ("Submit",))

    @staticmethod
    def fields(p: Mapping[str, Any]) -> Values:
        return {Field(kind="date"): date.fromisoformat(p["date"])}


class EnterTime(TaskRobot):
    """enter-time: 'Enter 3:45 PM as the time and press submit.'"""

    task = "enter-time"

    def run(self, attempt: Attempt, utterance: str, key: str) -> Outcome:
        found = self.understand(r"Enter (\d{1,2}:\d\d\s*[AP]M) as the time", utterance)
        when = datetime.strptime(found[1].replace(" ", ""), "%I:%M%p").time()
        return self.fill_and_submit(attempt, key, {"time": when.strftime("%H:%M")}, self.fields,
                                    ("Submit",))

    @staticmethod
    def fields(p: Mapping[str, Any]) -> Values:
        return {Field(kind="time"): p["time"]}


class MultiLayouts(TaskRobot):
    """multi-layouts: 'Search for comedy movies directed by Smith from year 1999.' on one of
    five layouts, each naming fields and the submit button its own way."""

    task = "multi-layouts"

    def run(self, attempt: Attempt, utterance: str, key: str) -> Outcome:
        found = self.understand(r"Search for (.+?) movies directed by (.+?) from year (\d+)",
                                utterance)
        params = {"genre": found[1], "director": found[2], "year": found[3]}
        return self.fill_and_submit(attempt, key, params, self.fields, ("Submit", "Search", "Go!"))

    @staticmethod
    def fields(p: Mapping[str, Any]) -> Values:
        return {Field("Genre", "Movie Genre"): p["genre"],
                Field("Director", "Director Name"): p["director"],
                Field("Year", "Released Date"): p["year"]}


class MultiOrderings(MultiLayouts):
    """multi-orderings: the same movie search, its rows in any order."""

    task = "multi-orderings"


class ClickCheckboxes(TaskRobot):
    """click-checkboxes: 'Select abc, def and click Submit.' (or 'Select nothing ...')."""

    task = "click-checkboxes"

    def run(self, attempt: Attempt, utterance: str, key: str) -> Outcome:
        found = self.understand(r"^Select (.*) and click Submit\.$", utterance)
        names = [] if found[1] == "nothing" else [n.strip() for n in found[1].split(",")]
        return self.fill_and_submit(attempt, key, {"select": names}, self.fields, ("Submit",))

    @staticmethod
    def fields(p: Mapping[str, Any]) -> Values:
        return {Field(name, kind="checkbox"): True for name in p["select"]}


class ClickOption(TaskRobot):
    """click-option: 'Select xyz and click Submit.' among radio buttons."""

    task = "click-option"

    def run(self, attempt: Attempt, utterance: str, key: str) -> Outcome:
        found = self.understand(r"^Select (.*) and click Submit\.$", utterance)
        return self.fill_and_submit(attempt, key, {"option": found[1]}, self.fields, ("Submit",))

    @staticmethod
    def fields(p: Mapping[str, Any]) -> Values:
        return {Field(p["option"], kind="radio"): True}


class ChooseList(TaskRobot):
    """choose-list: 'Select Chile from the list and click Submit.'"""

    task = "choose-list"

    def run(self, attempt: Attempt, utterance: str, key: str) -> Outcome:
        found = self.understand(r"^Select (.*) from the list and click Submit\.$", utterance)
        return self.fill_and_submit(attempt, key, {"item": found[1]}, self.fields, ("Submit",))

    @staticmethod
    def fields(p: Mapping[str, Any]) -> Values:
        return {Field(kind="select"): p["item"]}
