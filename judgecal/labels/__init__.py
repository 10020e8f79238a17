"""Collecting human labels: queues, the labelling web app, agreement while labelling, and the
export to a gold set (``docs/labelling.md``).

- :mod:`judgecal.labels.queue` builds queues (a gold set, an items file, a stored run, or the
  queue that would decide an undecided approval record), :mod:`judgecal.labels.sampling` draws
  them;
- :mod:`judgecal.labels.store` keeps queues and labels in judgecal's store;
- :mod:`judgecal.labels.app` serves the pages (``judgecal label``);
- :mod:`judgecal.labels.agreement` computes human–human agreement while labelling;
- :mod:`judgecal.labels.export` writes the gold JSONL; :mod:`judgecal.labels.interop` reads and
  writes Label Studio's and Argilla's formats.
"""

from __future__ import annotations

from judgecal.labels._model import Annotator, Label, Queue, QueueItem

__all__ = ["Annotator", "Label", "Queue", "QueueItem"]
