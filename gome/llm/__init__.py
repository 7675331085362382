"""The LLM layer: one client over litellm, and parsers for plain-text replies.

Importing this package does not import litellm (seconds of start-up); the client does that on
its first call.
"""

from gome.llm.client import LEDGER_FILE, LLMClient, LLMTotals, read_ledger
from gome.llm.parse import ReplyProblem, classify_reply, extract_code, extract_json
from gome.llm.reply import (
    BudgetExceededError,
    ContextWindowError,
    DeadlineReachedError,
    LLMError,
    LLMReply,
    MalformedReplyError,
    NoCodeBlockError,
)

__all__ = [
    "LEDGER_FILE",
    "BudgetExceededError",
    "DeadlineReachedError",
    "ContextWindowError",
    "LLMClient",
    "LLMError",
    "LLMReply",
    "LLMTotals",
    "MalformedReplyError",
    "NoCodeBlockError",
    "ReplyProblem",
    "classify_reply",
    "extract_code",
    "extract_json",
    "read_ledger",
]
