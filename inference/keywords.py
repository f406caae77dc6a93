"""What the words around a value say it is, in English, German and French.

Lower case; matched on a case-folded context. The longest keyword closest to a value wins, so
"Total HT" (net) beats "Total" (total). `PROTOTYPES` are short phrases for each label; the
embedding model compares a value's context with them, which labels values whose neighbours are
phrased in a way not listed here.
"""

from __future__ import annotations

AMOUNT_KEYWORDS = {
    "net": ["subtotal", "sub-total", "net amount", "net total", "total net", "excl. vat",
            "excluding vat", "total excl", "before tax", " net", "net ", "nettobetrag",
            "netto", "zwischensumme", "summe netto", "warenwert netto", "nettosumme",
            "total ht", "montant ht", "sous-total", "sous-total ht", "hors taxes", " ht"],
    "tax": ["vat", "tax", "sales tax", "vat amount", "mwst", "ust", "umsatzsteuer",
            "mehrwertsteuer", "tva", "montant tva", "taxe"],
    "total": ["total", "amount due", "total due", "grand total", "balance due",
              "amount payable", "for a total of", "total amount", "gesamtbetrag",
              "rechnungsbetrag", "endbetrag", "zu zahlen", "summe brutto", "bruttobetrag",
              "gesamtsumme", "über", "total ttc", "montant ttc", "net à payer", "montant total",
              "d'un montant de", "ttc"],
    "item": ["qty", "quantity", "unit price", "menge", "einzelpreis", "stk", "qté",
             "prix unitaire", " x"],
}
DATE_KEYWORDS = {
    "issue_date": ["invoice date", "date of issue", "issued", "date", "dated", "rechnungsdatum",
                   "datum", "ausstellungsdatum", "vom", "date de facture", "date d'émission",
                   "émise le", "du", "rechnung", "invoice", "facture"],
    "due_date": ["due date", "payment due", "pay by", "payable by", "due", "fällig am",
                 "fällig", "zahlbar bis", "fälligkeitsdatum", "zahlungsziel", "date d'échéance",
                 "échéance", "à payer avant le", "à régler avant le", "payable au",
                 "avant le", "payer avant", "zahlbar", "payable"],
    "other_date": ["delivery", "lieferdatum", "livraison", "order date", "bestelldatum",
                   "period", "zeitraum", "période"],
}
ID_KEYWORDS = {
    "invoice_number": ["invoice no.", "invoice no", "invoice #", "invoice number", "inv. no.",
                       "inv no", "rechnungsnummer", "rechnung nr.", "rechnungs-nr.", "beleg-nr.",
                       "facture n°", "n° de facture", "numéro de facture", "facture no",
                       "invoice", "rechnung", "facture", "tax invoice", "our invoice",
                       "unsere rechnung", "notre facture"],
    "po_number": ["po number", "po no", "po #", "purchase order", "your order", "order ref.",
                  "order ref", "bestellnummer", "ihre bestellung", "bestell-nr.", "bestell-nr",
                  "bon de commande", "votre commande n°", "votre commande", "réf. commande",
                  "commande n°"],
}
VAT_KEYWORDS = ["vat no", "vat reg", "vat id", "vat number", "tax id", "ust-idnr", "ust-id",
                "umsatzsteuer-id", "tva intracom", "n° tva", "vat"]
BUYER_KEYWORDS = ["customer", "your vat", "bill to", "invoice to", "ihre", "kunde", "kunden",
                  "rechnungsempfänger", "an:", "client", "votre", "facturé à", "destinataire"]
VENDOR_KEYWORDS = ["from:", "supplier", "lieferant", "von:", "fournisseur", "émetteur"]
LEGAL_FORMS = ["gmbh & co. kg", "gmbh", "ag", "kg", "e.k.", "ltd", "limited", "llc", "inc.",
               "plc", "corporation", "sarl", "sas", "sa", "eurl"]
INJECTION_MARKERS = ["ignore", "instruction", "override", "assistant", " ai ", "ai:", "system:",
                     "ignoriere", " ki", "ki:", "without review", "ohne prüfung",
                     "sans vérification", "approve and pay", "policy"]
PROTOTYPES = {
    "net": ["net amount", "subtotal", "amount before tax", "amount excluding tax",
            "net value of goods and services", "Nettobetrag", "montant hors taxes"],
    "tax": ["tax amount", "value added tax", "sales tax", "duty charged", "Mehrwertsteuer",
            "montant de la TVA"],
    "total": ["total amount due", "amount to pay", "grand total", "balance owed",
              "Gesamtbetrag zu zahlen", "total TTC à payer"],
    "item": ["quantity and unit price of a product", "line item description", "price per unit"],
    "issue_date": ["invoice date", "date of issue", "issued on", "Rechnungsdatum",
                   "date de facture"],
    "due_date": ["payment due date", "pay by this date", "deadline for payment", "fällig bis",
                 "date d'échéance"],
    "other_date": ["delivery date", "order date", "service period", "Lieferdatum",
                   "date de livraison"],
}
