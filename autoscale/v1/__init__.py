"""Generated protobuf and gRPC code of autoscale.v1 (the public API)."""
