"""Service-to-service protocols (generated code under v1)."""
