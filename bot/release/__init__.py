"""The release half: prompt versions, labels, deployments, rollback, repo tokens, the manifest API."""
