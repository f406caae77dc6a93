"""Approvals: requests for a human decision on one exact action, and the votes on them.

`store` (the `Approvals` service: persistence and compare-and-set transitions), `rules` (who may
vote, quorum, deadlines), `views` (what approvers see, queue filters), `records` (the tables).
"""
