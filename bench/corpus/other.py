"""Documents of type "other" for the corpus: letters that look a little like business documents
(a delivery note, a payment reminder) and ones that do not (minutes, a newsletter)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

TEMPLATES: dict[str, dict[str, list[str]]] = {
    "delivery_note": {
        "en": ["DELIVERY NOTE", "Delivery note no. DN-{n}", "Delivered to: {party}",
               "{item} - quantity {q}", "Received in good condition. Signature: ________"],
        "de": ["LIEFERSCHEIN", "Lieferschein-Nr. LS-{n}", "Lieferadresse: {party}",
               "{item} - Menge {q}", "Ware vollständig erhalten. Unterschrift: ________"],
        "fr": ["BON DE LIVRAISON", "Bon de livraison n° BL-{n}", "Livré à : {party}",
               "{item} - quantité {q}", "Reçu en bon état. Signature : ________"],
    },
    "reminder": {
        "en": ["PAYMENT REMINDER", "Our records show that the following amount is still open: "
               "{amount}.", "If you have already paid, please disregard this letter.",
               "Accounts receivable, {party}"],
        "de": ["ZAHLUNGSERINNERUNG", "Nach unseren Unterlagen ist folgender Betrag noch offen: "
               "{amount}.", "Sollten Sie bereits gezahlt haben, betrachten Sie dieses Schreiben "
               "als gegenstandslos.", "Buchhaltung, {party}"],
        "fr": ["RAPPEL DE PAIEMENT", "Sauf erreur de notre part, le montant suivant reste dû : "
               "{amount}.", "Si vous avez déjà réglé, merci de ne pas tenir compte de ce "
               "courrier.", "Service comptabilité, {party}"],
    },
    "minutes": {
        "en": ["Minutes of the team meeting, {d}", "Attendees: Alice, Bob, Carol",
               "1. Status of the migration project", "2. Holiday planning",
               "Action items: Bob to update the roadmap."],
        "de": ["Protokoll der Teambesprechung vom {d}", "Teilnehmer: Anna, Bernd, Clara",
               "1. Stand des Migrationsprojekts", "2. Urlaubsplanung",
               "Aufgaben: Bernd aktualisiert die Roadmap."],
        "fr": ["Compte rendu de la réunion d'équipe du {d}", "Présents : Alice, Bruno, Claire",
               "1. Avancement du projet de migration", "2. Planning des congés",
               "Actions : Bruno met à jour la feuille de route."],
    },
    "newsletter": {
        "en": ["{party} newsletter", "Spring news: our new catalogue is out!",
               "Visit our stand at the trade fair in hall 4.", "Unsubscribe at any time."],
        "de": ["{party} Newsletter", "Neuigkeiten: Unser neuer Katalog ist da!",
               "Besuchen Sie uns auf der Messe in Halle 4.", "Abmeldung jederzeit möglich."],
        "fr": ["Lettre d'information {party}", "Nouveautés : notre nouveau catalogue est "
               "disponible !", "Retrouvez-nous au salon, hall 4.", "Désinscription à tout "
               "moment."],
    },
    "shipping": {
        "en": ["Your parcel is on its way", "Tracking number: 1Z{n}{n}", "Expected delivery: {d}",
               "Sender: {party}"],
        "de": ["Ihr Paket ist unterwegs", "Sendungsnummer: 00340{n}{n}",
               "Voraussichtliche Zustellung: {d}", "Absender: {party}"],
        "fr": ["Votre colis est en route", "Numéro de suivi : 6A{n}{n}",
               "Livraison prévue : {d}", "Expéditeur : {party}"],
    },
}


def other_document(writer: Any, lang: str) -> tuple[str, str]:
    """(layout, text) of one "other" document written by the corpus writer."""
    kind = writer.pick(sorted(TEMPLATES))
    party = writer.party(lang)
    when = date(2025, 1, 1) + timedelta(days=writer.rng.randint(0, 600))
    amount = writer.money(lang, Decimal(writer.rng.randint(1000, 500_000)) / 100, "EUR")
    values = {"n": writer.rng.randint(10000, 99999), "party": party.name, "d":
              writer.date_text(lang, when), "amount": amount, "q": writer.rng.randint(1, 40),
              "item": writer.pick(["Pallets", "Paletten", "Palettes", "Cartons", "Boxes"])}
    lines = [line.format(**values) for line in TEMPLATES[kind][lang]]
    if kind in ("delivery_note", "reminder", "shipping"):
        lines[1:1] = [party.street, party.city]
    return kind, "\n".join(lines)
