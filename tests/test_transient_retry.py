"""Transient answers are retried, not kept as verdicts (issue 14): empty content and an answer cut
at the token limit are asked again up to the retry limit; only then are they stored as
``invalid``, and a later run asks again instead of reusing them. An unparseable answer from the
model's own text stays invalid and is reused. Real HTTP on loopback (tests/_stub_provider.py)."""

from __future__ import annotations

import asyncio
import itertools

from _stub_provider import ANSWER, Reply, StubProvider

from judgecal.gold import load_gold
from judgecal.judge import JudgeConfig, Limits, agrade
from judgecal.llm import LiteLLMCompleter
from judgecal.rubric import find_rubric
from judgecal.store import Store

FAST = Limits(concurrency=1, backoff_base=0.01, backoff_max=0.02, max_retries=3)


def _gold(tmp_path):  # type: ignore[no-untyped-def]
    from test_provider_errors import small_gold

    return load_gold(small_gold(tmp_path, 1), find_rubric("support-billing"))


def _grade(stub, tmp_path, store):  # type: ignore[no-untyped-def]
    completer = LiteLLMCompleter("openai/stub", api_base=stub.base_url, api_key="k-test-0123")
    return asyncio.run(
        agrade(
            find_rubric("support-billing"),
            _gold(tmp_path),
            JudgeConfig(model="openai/stub"),
            completer,
            store=store,
            limits=FAST,
        )
    )


def test_empty_then_valid_is_one_ok_verdict(tmp_path):  # type: ignore[no-untyped-def]
    replies = itertools.chain([Reply(answer="")], itertools.repeat(Reply()))
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    with StubProvider(lambda _r: next(replies)) as stub:
        result = _grade(stub, tmp_path, store)
        assert stub.count == 2
    assert result.n_ok == 1 and result.n_invalid == 0
    assert result.verdicts[0].label == "pass"


def test_truncation_is_retried_then_stored_invalid_and_asked_again_next_run(tmp_path):  # type: ignore[no-untyped-def]
    cut = Reply(answer=ANSWER[:20], finish_reason="length")
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    with StubProvider(cut) as stub:
        first = _grade(stub, tmp_path, store)
        assert stub.count == 1 + FAST.max_retries
    assert first.n_invalid == 1 and first.verdicts[0].invalid_reason == "truncated"
    with StubProvider(Reply()) as stub:
        again = _grade(stub, tmp_path, store)
        assert stub.count == 1  # not reused from the cache
    assert again.n_ok == 1 and again.n_cached == 0


def test_the_models_own_prose_stays_invalid_and_is_reused(tmp_path):  # type: ignore[no-untyped-def]
    prose = Reply(answer="It seems mostly fine, I suppose.")
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    with StubProvider(prose) as stub:
        first = _grade(stub, tmp_path, store)
        assert stub.count == 1  # the model's answer: not retried
    assert first.n_invalid == 1
    with StubProvider(Reply()) as stub:
        again = _grade(stub, tmp_path, store)
        assert stub.count == 0
    assert again.n_invalid == 1 and again.n_cached == 1


def test_an_html_body_with_status_200_is_retried(tmp_path):  # type: ignore[no-untyped-def]
    page = Reply(body="<html><body>502 Bad Gateway</body></html>")
    replies = itertools.chain([page, page], itertools.repeat(Reply()))
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    with StubProvider(lambda _r: next(replies)) as stub:
        result = _grade(stub, tmp_path, store)
        assert stub.count == 3
    assert result.n_ok == 1
