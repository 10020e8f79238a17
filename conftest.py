"""Collection rules for the whole tree (``--doctest-modules`` imports every module of ``judgecal/``).

An adapter module imports its host framework at the top, as it must to subclass or decorate with
it; without that optional extra it cannot be imported, so its doctests are not collected. Its
tests (``tests/test_adapters_*.py``) skip, saying why, or fail under ``JUDGECAL_REQUIRE_ADAPTERS=1``
(CI), which also makes this file collect the module and fail loudly on the missing import.
"""

from __future__ import annotations

import importlib.util
import os

_HOSTS = {
    "judgecal/adapters/inspect_ai_scorer.py": "inspect_ai",
    "judgecal/adapters/deepeval_metric.py": "deepeval",
}

collect_ignore = (
    []
    if os.environ.get("JUDGECAL_REQUIRE_ADAPTERS") == "1"
    else [path for path, host in _HOSTS.items() if importlib.util.find_spec(host) is None]
)
