"""Robots: the toolkit automation engineers build with, and the robots built with it.

Toolkit (each module small, imported on its own; nothing heavy is imported here):

- `robots.browser`     `BrowserPool` / `worker_pool()`: one Chromium per worker, a fresh traced
                       context per business transaction, retries with backoff for system errors
- `robots.transaction` `Transaction`: goto / form / click / submit-through-the-Gate, traces kept
                       for failed transactions, secrets kept out of every trace
- `robots.forms`       forms described by labels, not ids: `find_form`, `Field`, `FormError`s
- `robots.secrets`     `Secrets` from the environment, files or Prefect Secret blocks
- `robots.session`     `AppSession`: log in through the Gate, and again when the session expires
- `robots.evidence`    `EvidenceStore`: masked screenshots and HTML, content-addressed

Robots: `robots.acme` (Acme Payables), `robots.invoices` (Excel input), `robots.documents`,
`robots.miniwob` (the MiniWoB++ benchmark tasks).
"""
