"""Batch and guard work: the jobs runner, the bulk import, rate limits."""
