"""Generated protobuf and gRPC code of autoscale.v1."""
