"""Identity: who calls (authentication), what they may do (roles), and in which project every call and task runs."""

from autoscale.identity.caller import Caller, Role, acting_as, acting_for, current_caller, current_project

__all__ = ["Caller", "Role", "acting_as", "acting_for", "current_caller", "current_project"]
