"""Robots: the toolkit automation engineers build with, and the robots built with it.

Toolkit (each module small, imported on its own; nothing heavy is imported here):

- `robots.browser`     `BrowserPool` / `worker_pool()`: one Chromium per worker, a fresh traced
                       context per attempt, retries with backoff for system errors;
                       `BrowserPool.over(browser)` for a Chromium the flow started itself
- `robots.attempt`     `Attempt`: one try at a business transaction: goto / form / click /
                       expect_navigation / submit through the Gate (evidence before and
                       after, `verify=` handed on), traces kept for failed attempts, secrets
                       kept out of traces
- `robots.forms`       forms described by labels, not ids: `find_form`, `Field`, `FormError`s;
                       `Form.submit()` waits for the app's answer and raises its error,
                       `Form.read()` gives the fields' current values
- `robots.pages`       reading pages: table rows by column headers (`find_row`), values by
                       label (`page_facts`)
- `robots.submit`      filling and submitting (what `Form.fill()` / `Form.submit()` do), the
                       app's confirmations and error messages (`Messages`, `confirm`,
                       `app_errors`, `submit_and_wait`); re-exported by forms and pages
- `robots.secrets`     `Secrets` from the environment, files or Prefect Secret blocks
- `robots.session`     `AppSession`: log in through the Gate (login fields found without
                       labels), keep the login in memory across the worker's attempts, and
                       log in again only when the app asks
- `robots.evidence`    `EvidenceStore`: masked screenshots and HTML, content-addressed;
                       `submit_with_evidence`: the page before and after a submit

Robots built on it: `robots.acme` (Acme Payables: `robot` holds the steps, `app` what a label
cannot say about the app, `settings` where it runs, `workbook` its Excel input) is the example to
copy; `robots.inbox` reads documents. The MiniWoB++ benchmark robots are in `bench/miniwob`.
"""
