"""The review pipeline: snapshot → detect → semdiff → evals → approval → render → publish.

`stages` holds the source-independent steps shared by the service and `prompt-review review`;
`github` builds a snapshot from the GitHub API and publishes the result; `git` does the same
for a local checkout.
"""
