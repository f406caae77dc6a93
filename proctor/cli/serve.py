"""`proctor serve`: the review service, web UI and REST API, in this process."""

from __future__ import annotations

from proctor.cli.common import load_governance


def serve(host: str = "127.0.0.1", port: int = 8700) -> None:
    """Run the review service: web UI at /queue, REST API (OpenAPI at /api/openapi.json)."""
    import uvicorn

    from governance.review.app import create_app

    uvicorn.run(create_app(load_governance()), host=host, port=port, log_level="warning")
