"""The four services of autoscale, one package each: metrics, alarm, policy, group."""
