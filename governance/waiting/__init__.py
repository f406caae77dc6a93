"""How a run waits for a human: the `ApprovalWaiter` port (`port`), polling the approval store
(`polling`), and pausing or suspending a Prefect flow run and resuming it (`prefect`)."""
