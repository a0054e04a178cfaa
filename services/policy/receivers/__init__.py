"""Receivers: secret URLs by which any monitoring system (Alertmanager, Aodh, a script) signals a policy over HTTP."""
