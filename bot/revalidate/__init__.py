"""Re-validation without a PR: run the suites of a revision with repeats, compare with a blessed
baseline, and name what regressed and which model or fingerprint changed (docs/model-axis.md).

`baseline` (the file and the pure comparison), `run` (running the suites at a revision), `cli` (the
`prompt-review revalidate` verb), `store` (baselines in the audit table, issue markers), `jobs` (the
service's scheduled and fingerprint-triggered runs and their issues), `triggers` (what queues a run),
`intake` (which webhooks cause re-validation work) and `bless` (a merged PR's passing review, or an
owner's `/prompt-review bless`, blesses a new baseline).
"""
