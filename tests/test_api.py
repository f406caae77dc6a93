"""The REST API over real HTTP (uvicorn on loopback): auditors read, everyone else is refused,
and every refusal is in the ledger."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import httpx
import pytest

from governance.models import Action
from governance.review.app import serving
from proctor.composition import Governance


@pytest.fixture
def api(governance: Governance) -> Iterator[tuple[str, Governance]]:
    with serving(governance) as url:
        yield url, governance


@pytest.fixture
def tokens(governance: Governance) -> dict[str, str]:
    out = {}
    for name, role in (("dora", "auditor"), ("adam", "admin"), ("bob", "approver"),
                       ("alice", "author")):
        out[role] = governance.identity.create_token(name)
    return out


def release(governance: Governance, amount: str) -> str:
    action = Action(kind="acme.release_payment", target="acme-payables", robot="robot:acme",
                    requested_by="alice", idempotency_key=amount,
                    params={"vendor": "Globex Corporation", "invoice_number": amount,
                            "amount": amount, "currency": "EUR"},
                    context={"invoice_status": "entered"})
    return governance.gate.submit(action, lambda a: {"ok": True}).action_id


ENDPOINTS = ["/api/audit/entries", "/api/audit/verify", "/api/audit/checkpoints"]


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(("role", "status"), [("auditor", 200), ("admin", 200),
                                              ("approver", 403), ("author", 403),
                                              (None, 401), ("forged", 401)])
def test_role_matrix(api, tokens, path: str, role: str | None, status: int) -> None:
    url, governance = api
    token = {None: None, "forged": "pct_forged"}.get(role, tokens.get(role or ""))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    assert httpx.get(url + path, headers=headers).status_code == status
    refused = governance.reader.query(kind="access.refused")
    assert len(refused) == (0 if status == 200 else 1)
    if status == 403:
        assert refused[0].actor in ("bob", "alice") and refused[0].data()["path"] == path


def test_auditor_reads_queries_stories_and_exports(api, tokens) -> None:
    url, governance = api
    small, huge = release(governance, "10.00"), release(governance, "999999.00")
    governance.checkpoints.make()
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['auditor']}"})
    denied = client.get("/api/audit/entries", params={"decision": "deny"}).json()["entries"]
    assert {e["action_id"] for e in denied} == {huge}
    story = client.get(f"/api/audit/actions/{small}/story").json()
    assert [e["kind"] for e in story][-1] == "action.succeeded"
    rows = list(csv.DictReader(io.StringIO(client.get(
        "/api/audit/entries", params={"format": "csv"}).text)))
    assert len(rows) == 6 and rows[0]["seq"] == "1"
    assert client.get("/api/audit/verify").json()["ok"] is True
    proof = client.get("/api/audit/proof/3").json()
    assert proof["verified"] is True and proof["tree_size"] == 6
    assert client.get("/api/audit/entries", params={"decision": "maybe"}).status_code == 422
    assert client.get("/api/audit/actions/nope/story").status_code == 404
    assert "/api/audit/entries" in client.get("/api/openapi.json").json()["paths"]


def test_tokens_and_passwords_are_stored_hashed(governance: Governance, tokens) -> None:
    url = governance.settings.ledger.url.removeprefix("sqlite:///")
    from pathlib import Path

    stored = b"".join(p.read_bytes() for p in Path(url).parent.glob("proctor.db*"))
    assert tokens["auditor"].encode() not in stored
    assert b"correct horse battery" not in stored
    assert governance.identity.check_password("dora", "correct horse battery").name == "dora"
    assert governance.identity.check_password("dora", "wrong horse battery") is None
