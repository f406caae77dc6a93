"""Robots for MiniWoB++'s small applications: an autocomplete field, a flight booking site with
suggestion lists and a date picker, and an email client.

Looking around (typing into a search or suggestion box, opening an email, searching flights)
changes nothing; only the final act (submitting, booking, sending, deleting, starring) is an
Action through the Gate. Icons that carry neither text nor an ARIA name (the email client's send,
trash and star) are the only things found by the app's own class names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from playwright.sync_api import Locator, Page

from bench.miniwob.robot import TaskRobot, Values
from governance.errors import ApplicationError, BusinessRuleError
from governance.models import Action, Outcome
from robots.attempt import Attempt
from robots.forms import Field, wait_until_visible

_MENU = "ul.ui-autocomplete li.ui-menu-item"


def suggestions(page: Page, field: Locator, typed: str) -> list[str]:
    """Type `typed` into an autocomplete `field` and read the suggestions it offers."""
    # Suggestion lists follow the pointer: one left resting where the list opens would make
    # another item the active one by the time a click lands. Move it out of the way first.
    page.mouse.move(0, 0)
    field.fill(typed)
    wait_until_visible(page, _MENU)
    return [t.strip() for t in page.locator(_MENU).filter(visible=True).all_inner_texts()]


def choose_suggestion(page: Page, field: Locator, choice: str) -> None:
    """Click the suggestion `choice` in the open list and check the field took it."""
    page.locator(_MENU).filter(visible=True).get_by_text(choice, exact=True).first.click()
    if field.input_value() != choice:
        raise ApplicationError(f"suggestion {choice!r} did not land in the field on {page.url}")


def pick_date(page: Page, field: Locator, day: date) -> None:
    """Choose `day` in a jQuery UI date picker opened from `field` (read-only inputs)."""
    field.click()
    picker = page.locator("#ui-datepicker-div")
    target = day.strftime("%B %Y")
    for _ in range(24):
        shown = " ".join(picker.locator(".ui-datepicker-title").inner_text().split())
        if shown == target:
            break
        shown_month = datetime.strptime(shown, "%B %Y").date()
        step = "Prev" if shown_month > day.replace(day=1) else "Next"
        picker.get_by_title(step, exact=True).click()
    else:
        raise BusinessRuleError(f"the date picker on {page.url} never showed {target}")
    picker.locator(f"td[data-month='{day.month - 1}'][data-year='{day.year}']").get_by_text(
        str(day.day), exact=True).click()


class UseAutocomplete(TaskRobot):
    """use-autocomplete: 'Enter an item that starts with "Ar" (and ends with "na").'"""

    task = "use-autocomplete"

    def run(self, attempt: Attempt, utterance: str, key: str) -> Outcome:
        found = self.understand(
            r'starts with "(.*?)"(?: and ends with "(.*?)")?', utterance)
        start, end = found[1], found[2] or ""
        form = attempt.form({"Tags": start}, submit="Submit")
        field = form.locator("Tags")
        offered = suggestions(attempt.page, field, start)
        matching = [s for s in offered if s.startswith(start) and s.endswith(end)]
        if not matching:
            raise BusinessRuleError(f"no suggestion starts with {start!r} and ends with {end!r}")
        params = {"starts_with": start, "ends_with": end, "item": matching[0]}

        def perform(action: Action) -> dict[str, Any]:
            choose_suggestion(attempt.page, field, action.params["item"])
            form.submit()
            return {"entered": action.params["item"]}

        return self.propose(attempt, key, params, perform, form.facts())


class BookFlight(TaskRobot):
    """book-flight: 'Book the cheapest one-way flight from: Abilene, TX to: ANC on
    10/12/2016.' Search (a read), pick the flight by what its card shows, book (the Action)."""

    task = "book-flight"

    def run(self, attempt: Attempt, utterance: str, key: str) -> Outcome:
        found = self.understand(r"Book the (cheapest|shortest) one-way flight from: (.+?) to: "
                                r"(.+?) on (\d\d/\d\d/\d{4})\.", utterance)
        want, origin, destination = found[1], found[2], found[3]
        day = datetime.strptime(found[4], "%m/%d/%Y").date()
        self._search(attempt, origin, destination, day)
        flights = self._flights(attempt.page)
        if not flights:
            raise BusinessRuleError(f"no flights from {origin} to {destination} on {day}")
        best = min(flights, key=lambda f: f["price"] if want == "cheapest" else f["minutes"])
        params = {"from": origin, "to": destination, "date": day.isoformat(), "choice": want,
                  "price": best["price"], "duration_min": best["minutes"]}

        def perform(action: Action) -> dict[str, Any]:
            best["button"].click()
            return {"booked": best["label"]}

        facts = {"page_url": attempt.page.url, "form_resolved": True,
                 "flights_offered": len(flights)}
        return self.propose(attempt, key, params, perform, facts)

    def _search(self, attempt: Attempt, origin: str, destination: str, day: date) -> None:
        form = attempt.form({"From": origin, "To": destination, "Departure Date": day.isoformat()},
                            submit="Search")
        for name, wanted in (("From", origin), ("To", destination)):
            field = form.locator(name)
            offered = [s for s in suggestions(attempt.page, field, wanted) if wanted in s]
            if not offered:
                raise BusinessRuleError(f"the app knows no airport {wanted!r}")
            choose_suggestion(attempt.page, field, offered[0])
        pick_date(attempt.page, form.locator("Departure Date"), day)
        form.submit()

    @staticmethod
    def _flights(page: Page) -> list[dict[str, Any]]:
        wait_until_visible(page, "#results .flight")
        flights = []
        for card in page.locator("#results .flight").all():
            button = card.get_by_role("button", name=re.compile(r"^Book flight for"))
            label = button.inner_text().strip()
            duration = card.locator(".time-duration").inner_text()
            hours, minutes = re.findall(r"(\d+)h (\d+)m", duration)[0]
            flights.append({"button": button, "label": label,
                            "price": int(label.rsplit("$", 1)[1]),
                            "minutes": int(hours) * 60 + int(minutes)})
        return flights


class EmailInbox(TaskRobot):
    """email-inbox: find the email by a sender and reply to it, forward it, delete it or star
    it, as the instruction says."""

    task = "email-inbox"
    _SAYS = (
        ("reply", r'Find the email by (.+?) and reply to them with the text "(.*?)"\.'),
        ("forward", r"Find the email by (.+?) and forward that email to (.+?)\."),
        ("delete", r"Find the email by (.+?) and click the trash icon"),
        ("important", r"Find the email by (.+?) and click the star icon"),
    )

    def run(self, attempt: Attempt, utterance: str, key: str) -> Outcome:
        said = [(what, m) for what, p in self._SAYS if (m := re.search(p, utterance))]
        if not said:
            raise BusinessRuleError(f"{self.task}: instruction not understood: {utterance!r}")
        what, found = said[0]
        sender = found[1]
        thread = self._thread(attempt.page, sender)
        if what in ("delete", "important"):
            icon = thread.locator(".trash" if what == "delete" else ".star")
            params = {"action": what, "sender": sender}
            return self.propose(attempt, key, params, lambda a: self._click(icon),
                                {"page_url": attempt.page.url, "form_resolved": icon.count() == 1})
        thread.click()  # opening an email changes nothing
        attempt.click("Reply" if what == "reply" else "Forward")
        if what == "reply":
            return self._send(attempt, key, {"action": what, "sender": sender, "text": found[2]},
                              "#reply", lambda p: {Field(kind="textarea"): p["text"]})
        return self._send(attempt, key, {"action": what, "sender": sender, "to": found[2]},
                          "#forward", lambda p: {"to": p["to"]})

    def _send(self, attempt: Attempt, key: str, params: dict[str, Any], within: str,
              fields: Callable[[Mapping[str, Any]], Values]) -> Outcome:
        form = attempt.form(fields(params), within=within)
        send = attempt.page.locator(f"{within} [id^=send-]")

        def perform(action: Action) -> dict[str, Any]:
            form.fill()
            return self._click(send)

        return self.propose(attempt, key, params, perform, form.facts())

    @staticmethod
    def _thread(page: Page, sender: str) -> Locator:
        threads = page.locator("#main .email-thread").filter(
            has=page.locator(".email-sender").get_by_text(sender, exact=True))
        if threads.count() == 0:
            raise BusinessRuleError(f"no email from {sender!r} in the inbox")
        return threads.first  # the task accepts any email of that sender

    @staticmethod
    def _click(target: Locator) -> dict[str, Any]:
        target.click()
        return {"clicked": True}
