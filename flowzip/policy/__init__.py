"""How a file is made, decided before any coding, by model names and with no I/O: ``Policy`` (the
value that plans, ``policy``), the ``Plan`` it makes (``plan``) and the effort levels
(``efforts``). ``DEFAULT`` is the policy of this release; shipping a new default model changes one
line of ``Policy``."""

from .efforts import AUTO, BEST, CLASSICAL, CLASSICAL_ONLY, DEFAULT_EFFORT, EFFORTS, FLOWS, LOCAL, Effort
from .plan import PLANES, Model, Plan
from .policy import PLANE_NAMES, Policy, check_tile

DEFAULT = Policy()

__all__ = ["AUTO", "BEST", "CLASSICAL", "CLASSICAL_ONLY", "DEFAULT", "DEFAULT_EFFORT", "EFFORTS",
           "FLOWS", "LOCAL", "Effort", "Model", "PLANES", "PLANE_NAMES", "Plan", "Policy", "check_tile"]
