"""Telling approvers about the review queue: the notice and its fan-out (`notices`), e-mail
(`smtp`) and signed webhooks (`webhook`), best effort."""
