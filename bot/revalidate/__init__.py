"""Re-validation without a PR: run the suites of a revision with repeats, compare with a blessed
baseline, and name what regressed and which model or fingerprint changed (docs/model-axis.md).

`baseline` (the file and the pure comparison), `run` (running the suites at a revision), `cli` (the
`prompt-review revalidate` verb) and `jobs` (the service's scheduled and fingerprint-triggered runs).
"""
