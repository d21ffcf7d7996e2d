"""The narrow GitHub surface: webhook signatures, App auth, and the REST calls the pipeline needs."""
