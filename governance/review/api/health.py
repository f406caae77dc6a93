"""`/api/health` and `/api/ready`: open to anyone, for load balancers and supervisors."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from governance.review.deps import GovernanceDep

router = APIRouter(prefix="/api")


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready")
def ready(governance: GovernanceDep) -> JSONResponse:
    """Readiness: the database answers and the policy loads (503 and why otherwise)."""
    checks: dict[str, str] = {}
    try:
        with governance.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means: not ready, and say why
        checks["database"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    probe = governance.policy.decide({"action": {}, "context": {}})
    broken = [r for r in probe.reasons if r.startswith(("policy_", "no_verified"))]
    checks["policy"] = broken[0] if broken else "ok"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ok else "not ready", "checks": checks},
                        status_code=200 if ok else 503)
