"""autoscale: an autoscaling service for clouds, as four gRPC services.

This package holds what the services share (configuration, server bootstrap,
database, telemetry, peer clients, errors) and the generated code (`autoscale.v1`).
The services themselves live in the `services` package.
"""

__version__ = "0.1.0"
