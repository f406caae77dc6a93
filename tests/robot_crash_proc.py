"""Runs one invoice transaction and dies by SIGKILL at a chosen moment of the invoice step:
`before-submit` (recorded as started, nothing sent) or `after-submit` (the app saved it, the
ledger has no outcome). Used by the crash tests; argv: app URL, moment; settings from env."""

from __future__ import annotations

import os
import signal
import sys

from proctor.composition import build
from proctor.settings import Settings
from robots.acme.robot import AcmePayablesRobot
from robots.acme.settings import AcmeSettings
from robots.browser import launch
from robots.settings import BrowserSettings
from tests.test_robot_faults import ROW

if __name__ == "__main__":
    url, moment = sys.argv[1], sys.argv[2]
    governance = build(Settings(), resume_runs=False)
    with launch(BrowserSettings()) as browser:
        robot = AcmePayablesRobot(governance.gate, browser, AcmeSettings(url=url),
                                  requested_by="alice", flow_run_id="run-1")
        original = robot._do_create_invoice

        def dying(page, action):  # type: ignore[no-untyped-def]
            if moment == "before-submit":
                os.kill(os.getpid(), signal.SIGKILL)
            result = original(page, action)
            os.kill(os.getpid(), signal.SIGKILL)
            return result

        robot._do_create_invoice = dying  # type: ignore[method-assign]
        robot.enter_invoice(ROW)
