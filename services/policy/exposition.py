"""The policy service's own metrics (autoscale.exposition): its executions, how long they take, and receivers' signals."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from autoscale.exposition import LATENCY_BUCKETS


class PolicyMetrics:
    """Counted and timed as executions and signals happen."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.executions = Counter(
            "autoscale_policy_executions", "Executions of policies, by outcome: adjusted (the group's desired capacity "
            "changed), unchanged (cooling down, resizing, or at a bound), repeated (a request id answered before), failed.",
            ["project", "policy", "outcome"], registry=registry,
        )
        self.execution_seconds = Histogram(
            "autoscale_policy_execution_seconds", "Time an execution takes, its group's Adjust included (the policy's part "
            "of the reaction to an alarm or a signal).", buckets=LATENCY_BUCKETS, registry=registry,
        )
        self.signals = Counter(
            "autoscale_receiver_signals", "Signals POSTed to receivers' URLs, by format and the HTTP status answered "
            "(404: no receiver has the URL).", ["format", "status"], registry=registry,
        )
