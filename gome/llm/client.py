"""The one place any agent calls a model: litellm behind retries, a ledger and a replay cache."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from gome.llm.cache import ReplayCache, request_key
from gome.llm.reply import (
    BudgetExceededError,
    ContextWindowError,
    DeadlineReachedError,
    LLMError,
    LLMReply,
)

# litellm fetches its price map from GitHub on import unless told otherwise.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@cache
def _litellm() -> ModuleType:
    """Import and configure litellm on first use: the import takes seconds, and `gome --help`
    must not pay for it."""
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    return litellm


def _retryable() -> tuple[type[BaseException], ...]:
    lm = _litellm()
    return (
        lm.RateLimitError,
        lm.InternalServerError,
        lm.ServiceUnavailableError,
        lm.BadGatewayError,
        lm.APIConnectionError,
        lm.Timeout,
    )


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class LLMTotals:
    """What a client has spent so far. Cache hits count as calls but add no tokens or dollars."""

    calls: int = 0
    cached_calls: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    dollars: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def plus(
        self,
        prompt_tokens: int,
        completion_tokens: int,
        dollars: float,
        *,
        cached: bool,
        retries: int,
    ) -> LLMTotals:
        """These totals with one more call."""
        return LLMTotals(
            calls=self.calls + 1,
            cached_calls=self.cached_calls + cached,
            retries=self.retries + retries,
            prompt_tokens=self.prompt_tokens + (0 if cached else prompt_tokens),
            completion_tokens=self.completion_tokens + (0 if cached else completion_tokens),
            dollars=self.dollars + dollars,
        )


LEDGER_FILE = "llm_ledger.jsonl"  # a client's ledger in its run folder: a JSON line a call


def read_ledger(path: Path) -> LLMTotals:
    """What the calls of a ledger spent, counted as `LLMClient.totals` counts them (cache hits
    add no tokens or dollars); nothing spent when there is no ledger (the built-in agent)."""
    totals = LLMTotals()
    if not path.is_file():
        return totals
    for line in path.read_text(encoding="utf-8").splitlines():
        call = json.loads(line)
        totals = totals.plus(
            call["prompt_tokens"],
            call["completion_tokens"],
            float(call.get("cost_usd", 0.0)),
            cached=bool(call.get("cached")),
            retries=int(call.get("retries", 0)),
        )
    return totals


# A call cut by its timeout raises this long after (litellm's error mapping: up to about 3 s
# measured on this 2-core machine under load, near 6 s on a loaded CI runner), so calls are cut
# this much before the deadline.
CALL_RETURN_S = 5.0


class LLMClient:
    """A model string plus the policy around calling it.

    `model` is any litellm model string (`openai/gpt-4o`, `anthropic/...`, `gemini/...`,
    `ollama/...`, or `openai/<name>` with `api_base` for a local OpenAI-compatible server).
    Extra keyword arguments to `complete` go to `litellm.completion` unchanged (e.g.
    `mock_response`, `stop`, `seed`, a `temperature` overriding the client's) and are part of
    the cache key. `context_window` (prompt plus reply tokens, e.g. a local server's n_ctx) is
    for callers that fit prompts to it; None means litellm's figure for the model, if any.
    """

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 600,
        max_retries: int = 4,
        max_dollars: float | None = None,
        ledger_path: Path | None = None,
        cache_dir: Path | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        backoff_base_s: float = 2.0,
        backoff_max_s: float = 60.0,
        deadline: Callable[[], float] | None = None,
        context_window: int | None = None,
    ) -> None:
        self.model = model
        self.api_base = api_base
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.max_dollars = max_dollars
        self.ledger_path = Path(ledger_path) if ledger_path else None
        self.cache = ReplayCache(Path(cache_dir)) if cache_dir else None
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        # when calls must end, asked before each one: a run's search deadline (a
        # time.monotonic() instant), which moves as the time kept for the run's end changes
        self.deadline = deadline
        self.context_window = context_window
        self._totals = LLMTotals()
        self._lock = threading.Lock()

    @property
    def totals(self) -> LLMTotals:
        return self._totals

    def complete(self, messages: list[dict], *, purpose: str = "", **kwargs: Any) -> LLMReply:
        """One completion, served from the replay cache when the same request was made before.

        Raises `BudgetExceededError` before a (non-cached) call once `max_dollars` is spent,
        `ContextWindowError` when the prompt is too long, and `LLMError` for any other failure
        after retrying transient ones (rate limits, 5xx, timeouts, connection errors).
        """
        params: dict[str, Any] = {}
        if self.temperature is not None:
            params["temperature"] = self.temperature
        if self.max_tokens is not None:
            params["max_tokens"] = self.max_tokens
        params.update(kwargs)

        key = request_key(self.model, messages, params) if self.cache else None
        if self.cache and key and (hit := self.cache.get(key)):
            self._record(hit, purpose, retries=0)
            return hit

        spent = self._totals.dollars
        if self.max_dollars is not None and spent >= self.max_dollars:
            raise BudgetExceededError(
                f"LLM budget of ${self.max_dollars:.2f} is spent (${spent:.4f} so far); "
                "raise it or resume with a replay cache"
            )

        self._check_deadline()
        reply, retries = self._call_with_retries(messages, params)
        if self.cache and key:
            self.cache.put(key, reply)
        self._record(reply, purpose, retries=retries)
        return reply

    def _call_with_retries(
        self, messages: list[dict], params: dict[str, Any]
    ) -> tuple[LLMReply, int]:
        lm = _litellm()
        import openai  # a dependency of litellm; the base of all its API errors

        retryable = _retryable()
        for attempt in range(self.max_retries + 1):
            self._check_deadline()
            start = time.monotonic()
            try:
                response = lm.completion(
                    model=self.model,
                    messages=messages,
                    api_base=self.api_base,
                    api_key=self.api_key,
                    timeout=self._call_timeout(),
                    max_retries=0,  # the provider SDK's own retries would multiply ours
                    drop_params=True,  # e.g. temperature on models that reject it
                    **params,
                )
            except retryable as exc:
                self._check_deadline()  # a call timed out at the deadline: that, not a failure
                if attempt == self.max_retries:
                    raise LLMError(
                        f"{self.model}: gave up after {attempt + 1} attempts: {_one_line(exc)}"
                    ) from exc
                time.sleep(self._backoff(attempt))
                continue
            except lm.ContextWindowExceededError as exc:
                raise ContextWindowError(f"{self.model}: {_one_line(exc)}") from exc
            except openai.APIError as exc:
                raise LLMError(f"{self.model}: {_one_line(exc)}") from exc
            return self._to_reply(response, time.monotonic() - start), attempt
        raise AssertionError("unreachable: the loop returns or raises")

    def _check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline():
            raise DeadlineReachedError(f"{self.model}: the run's search time is spent")

    def _call_timeout(self) -> float:
        """The per-call timeout, cut to what is left before the deadline (less the seconds a
        timed-out call takes to come back)."""
        if self.deadline is None:
            return self.timeout_s
        left = self.deadline() - time.monotonic() - CALL_RETURN_S
        return max(1.0, min(self.timeout_s, left))

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter, so parallel workers do not retry in lockstep."""
        delay = min(self.backoff_max_s, self.backoff_base_s * 2**attempt)
        return delay * random.uniform(0.5, 1.0)

    def supports_tools(self) -> bool:
        """Whether litellm knows the model to take function calls (tools); False for the
        local servers and any model it does not know, which then get a parsed JSON reply."""
        try:
            return bool(_litellm().supports_function_calling(model=self.model))
        except Exception:  # an unknown model must never fail the caller
            return False

    def _to_reply(self, response: Any, duration_s: float) -> LLMReply:
        choice = response.choices[0]
        usage = getattr(response, "usage", None)
        calls = getattr(choice.message, "tool_calls", None) or []
        return LLMReply(
            text=choice.message.content or "",
            model=self.model,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            cost_usd=self._cost(response),
            duration_s=duration_s,
            finish_reason=choice.finish_reason,
            tool_arguments=(calls[0].function.arguments or "") if calls else "",
        )

    @staticmethod
    def _cost(response: Any) -> float:
        """litellm's price for the call; 0.0 for models it has no price for (local, unknown)."""
        try:
            return float(_litellm().completion_cost(completion_response=response) or 0.0)
        except Exception:  # an unpriced model must never fail a call
            return 0.0

    def _record(self, reply: LLMReply, purpose: str, *, retries: int) -> None:
        with self._lock:
            self._totals = self._totals.plus(
                reply.prompt_tokens,
                reply.completion_tokens,
                reply.cost_usd,
                cached=reply.cached,
                retries=retries,
            )
            if self.ledger_path is None:
                return
            line = {
                "time": datetime.now(UTC).isoformat(timespec="seconds"),
                "model": reply.model,
                "purpose": purpose,
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "cost_usd": reply.cost_usd,
                "duration_s": round(reply.duration_s, 3),
                "finish_reason": reply.finish_reason,
                "cached": reply.cached,
                "retries": retries,
            }
            self.ledger_path.parent.mkdir(parents=True, exist_ok=True)
            with self.ledger_path.open("a") as f:
                f.write(json.dumps(line) + "\n")
