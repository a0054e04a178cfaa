"""The policy service: scaling policies and their executions.

A policy says how to adjust a group when signalled; executing it asks the group,
with one GroupService.Adjust honouring the cooldown, for that adjustment. The group
decides whether it is resizing or cooling down (services.group.cooldown) and the
policy relays its answer. Every execution is recorded.
"""
