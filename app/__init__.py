"""The applications built on the services: the `autoscale` command line and the demo (entry points: app -> services -> autoscale)."""
