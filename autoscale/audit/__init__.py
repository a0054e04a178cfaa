"""Audit: who changed what, and when (AuditService, served by every process)."""
