"""Approved judges as graders inside other harnesses (reference: ``docs/adapters.md``).

Each adapter is a thin layer over :func:`judgecal.approval.load_grader` and is installed as an
optional extra; nothing here is imported by ``import judgecal``:

==============================================  ===================================  =====================
module                                          host                                 install
==============================================  ===================================  =====================
:mod:`judgecal.adapters.pytest_plugin`          pytest (fixture ``judgecal_grader``) ``judgecal[pytest]``
:mod:`judgecal.adapters.inspect_ai_scorer`      Inspect AI (``judgecal_scorer``)     ``judgecal[inspect]``
:mod:`judgecal.adapters.deepeval_metric`        DeepEval (``JudgecalMetric``)        ``judgecal[deepeval]``
``judgecal/adapters/promptfoo/``                promptfoo (JavaScript assertion      ``npm i promptfoo``
                                                calling ``judgecal serve``)
==============================================  ===================================  =====================

Every adapter refuses a rubric without a valid approval (``NotApprovedError``, in the host's
terms) unless told ``allow_unapproved``, and never turns an ``invalid`` or ``error`` verdict
into a pass.
"""
