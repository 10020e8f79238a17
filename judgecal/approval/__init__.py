"""The approval gate: a policy, a decision with its reasons, an approval record, and approved
judges as graders (METHODS.md Part 3)."""

from judgecal.approval.certificate import Certificate, current_hashes
from judgecal.approval.gate import Decision, GateResult, decide
from judgecal.approval.grader import Grader, GraderVerdict, find_approval, load_grader
from judgecal.approval.policy import DEFAULT_POLICY_PATH, Policy, load_policy
from judgecal.approval.validate import ValidationResult, avalidate, validate

__all__ = [
    "DEFAULT_POLICY_PATH",
    "Certificate",
    "Decision",
    "GateResult",
    "Grader",
    "GraderVerdict",
    "Policy",
    "ValidationResult",
    "avalidate",
    "current_hashes",
    "decide",
    "find_approval",
    "load_grader",
    "load_policy",
    "validate",
]
