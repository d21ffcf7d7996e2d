"""Prometheus metrics for /metrics; one registry per service instance so tests stay independent."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "prompt_review_deliveries", "Webhook deliveries by event and outcome", ["event", "outcome"], registry=self.registry
        )
        self.jobs = Counter("prompt_review_jobs_finished", "Jobs finished by kind and state", ["kind", "state"], registry=self.registry)
        self.job_duration = Histogram(
            "prompt_review_job_duration_seconds",
            "Job duration",
            ["kind"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
            registry=self.registry,
        )
        self.github_calls = Counter(
            "prompt_review_github_api_calls", "GitHub API calls by endpoint and status", ["method", "endpoint", "status"], registry=self.registry
        )
        self.jobs_by_state = Gauge("prompt_review_jobs", "Jobs by state", ["state"], registry=self.registry)
        self.queue_depth = Gauge("prompt_review_queue_depth", "Jobs waiting to run", registry=self.registry)
        self.oldest_queued = Gauge("prompt_review_oldest_queued_job_age_seconds", "Age of the oldest queued job", registry=self.registry)
