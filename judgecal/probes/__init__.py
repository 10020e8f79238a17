"""Bias probes: how a judge reacts to things that should not matter (and to one that should).

A probe derives perturbed variants of gold items (swapped order, padding, an injected payload,
an inserted error...), grades them with the judge through the same cached pipeline as
``judgecal grade`` — so unperturbed items reuse stored verdicts and a second run of the same
probes makes no provider call — and returns a statistic with an interval, its n, and pass/fail
against a threshold. Designs and thresholds, with the papers each follows (e.g. Zheng et al. 2023,
NeurIPS Datasets & Benchmarks, arXiv 2306.05685, for the order swap and the repetitive-list
padding; Wataoka, Takahashi & Ri 2024, arXiv 2410.21819, for self-preference): ``docs/probes.md``.

Probes are plugins: an entry point in the group ``judgecal.probes`` names a class (or factory)
whose instances follow :class:`Probe`. The built-in probes are registered the same way, in
judgecal's own ``pyproject.toml``.
"""

from __future__ import annotations

from judgecal.probes.base import (
    Probe,
    ProbeContext,
    ProbeReport,
    ProbeResult,
    available_probes,
    run_probes,
)

__all__ = ["Probe", "ProbeContext", "ProbeReport", "ProbeResult", "available_probes", "run_probes"]
