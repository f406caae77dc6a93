"""How a run waits for a human: the `ApprovalWaiter` port (`port`), polling the approval store
(`polling`), pausing or suspending a Prefect flow run and resuming it (`prefect`), and who hears
that a run starts to wait (`listeners`)."""
