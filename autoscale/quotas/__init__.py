"""Quotas: each project's limits, kept in the deployment's database, served by every process (QuotaService)."""
