"""The polling waiter and the approvals store load without Prefect (it takes seconds to import,
and the CLI, the API and in-process runs need neither it nor its server)."""

from __future__ import annotations

import subprocess
import sys


def test_polling_waiter_and_store_do_not_import_prefect() -> None:
    probe = ("import sys\n"
             "import governance.waiting.polling, governance.waiting.prefect\n"
             "import governance.approvals.store\n"
             "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'prefect')\n"
             "assert not loaded, loaded\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
