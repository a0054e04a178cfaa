"""Generated protobuf and gRPC code of autoscale.internal.v1 (service-to-service messages)."""
