"""The Gate: every side effect of a robot passes through it.

    outcome = gate.submit(action, perform=robot_effect)

`submit` wraps its arguments in a `Proposal` and sends it through a chain of interceptors
(`governance.gate.chain`), each a small class that may answer or hand on:

    Tracing -> OneAtATime -> Replay -> Policy -> Shadow -> Record -> Approval -> Verification
    -> Execute

1. tracing  : the action's span, with the policy decision, the approval wait and the effect
              as spans beneath it (`governance.gate.tracing`)
2. one at a time: attempts at one business transaction never overlap
3. replay   : a business transaction already recorded as done is not done again
4. policy   : the engine decides; anything unclear is a deny (a shadow engine only takes notes)
5. record   : proposal and decision are appended in one commit (with the policy revision)
6. approval : if required, a request bound to the action's digest; wait; read the store; an
              action an approver edited goes through policy again before it may run
7. verify   : around execute: after a success, the robot's `verify` reads the effect back and
              the Gate compares it with the approved params: 'verified', 'diverged' or
              'unverified' (`governance.gate.verify`); policy's `on_divergence` says what a
              divergence means
8. execute  : 'started' is durable before the effect runs; then 'succeeded' or 'failed'

In plan mode the chain is `Tracing -> Plan -> Policy -> Rehearse` (`governance.gate.plan`):
the policy answers and nothing is recorded, requested or changed.

A ledger write that fails raises `audit.LedgerWriteError` and stops the action before it runs.
"""

from governance.gate.approval import MAX_EDIT_ROUNDS
from governance.gate.chain import Gate, compose
from governance.gate.proposal import CallNext, Effect, Interceptor, Lookup, Preview, Proposal
from governance.gate.verify import NORMALISERS, ReadBack, Verify

__all__ = ["MAX_EDIT_ROUNDS", "NORMALISERS", "CallNext", "Effect", "Gate", "Interceptor", "Lookup",
           "Preview", "Proposal", "ReadBack", "Verify", "compose"]
