"""The imperative shell: FastAPI intake, durable job queue, worker, storage."""
