"""`autoscale demo`: a group of local processes scaling out and back in under a changing load."""
