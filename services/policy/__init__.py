"""The policy service: scaling policies, their cooldown and their executions.

A policy says how to adjust a group when signalled; executing it decides, with
Heat's cooldown semantics, whether the group may be adjusted now and, if so,
calls GroupService.Adjust. Every execution is recorded.
"""
