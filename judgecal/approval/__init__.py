"""The approval gate: a policy, a decision with its reasons, an approval record, and approved
judges as graders. The default policy's thresholds follow published conventions: Krippendorff
2004 (α ≥ 0.667 / 0.8), Landis & Koch 1977, Calderon, Reichart & Dror 2025 (the alternative
annotator test, ACL 2025, arXiv 2501.10970), Thakur et al. 2024/25 (GEM 2025, arXiv 2406.12624),
Zheng et al. 2023 (NeurIPS Datasets & Benchmarks, arXiv 2306.05685), Rogan & Gladen 1978 and
Lee et al. 2025 (arXiv 2511.21140); ``docs/approval.md`` says which threshold comes from which."""

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
