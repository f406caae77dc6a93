"""`python -m demo.acme`: run Acme Payables."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from demo.acme.app import create_app
from demo.acme.config import AcmeConfig
from demo.acme.db import reset_db


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m demo.acme", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--db", type=Path, default=Path(".proctor/acme.db"))
    parser.add_argument("--slow-ms", type=int, default=0, help="delay added to every response")
    parser.add_argument("--session-ttl", type=int, default=1800, help="idle session expiry (s)")
    parser.add_argument("--layout", choices=("classic", "alternate"), default="classic")
    parser.add_argument("--unlabelled", help="render this invoice-form label without its field")
    parser.add_argument("--fail-after-save", type=int, default=0,
                        help="answer this many invoice saves with a 500 after saving")
    parser.add_argument("--save-reply-ms", type=int, default=0,
                        help="answer each invoice save this long after saving it")
    parser.add_argument("--reset", action="store_true", help="start from the seed data")
    args = parser.parse_args()
    if args.reset:
        reset_db(args.db)
    config = AcmeConfig(db_path=args.db, slow_ms=args.slow_ms, session_ttl_s=args.session_ttl,
                        layout=args.layout, unlabelled=args.unlabelled,
                        fail_after_save=args.fail_after_save,
                        save_reply_ms=args.save_reply_ms)
    print(f"Acme Payables listening on http://{args.host}:{args.port}", flush=True)
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
