"""An HTTP policy endpoint that speaks OPA's Data API, evaluated in process by regorus.

`proctor policy serve` runs it: where no OPA binary can be installed, workers can still share
one policy deployment over HTTP (`PROCTOR_POLICY_OPA_URL`), and the same workers move to a real
OPA server by changing only that URL. It answers `POST /v1/data/proctor/decision` with
`{"result": ..., "decision_id": ..., "provenance": {"bundles": {"proctor": {"revision": ...}}}}`
(no "result" when the rule is undefined, as OPA does) and `GET /health`.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse

from governance.errors import PolicyError
from governance.policy.regorus import RegorusEngine


def create_policy_app(engine: RegorusEngine) -> FastAPI:
    app = FastAPI(title="Proctor policy endpoint (OPA Data API)", docs_url=None, redoc_url=None)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {}  # OPA answers {} when healthy

    @app.post("/v1/data/{path:path}")
    def data(path: str, body: dict[str, Any]) -> JSONResponse:
        if path.strip("/") != "proctor/decision":
            raise HTTPException(404, f"only data.proctor.decision is served here, not {path}")
        answer: dict[str, Any] = {
            "decision_id": uuid4().hex,
            "provenance": {"bundles": {"proctor": {"revision": engine.revision}}}}
        try:
            raw = engine.evaluate(body.get("input") or {})
        except PolicyError as exc:
            return JSONResponse({"code": "internal_error", "message": str(exc)}, 500)
        if raw is not None:
            answer["result"] = raw
        return JSONResponse(answer)

    return app
