"""The `autoscale` command: servers (`up`, `serve`), `demo`, and thin clients of each service."""
