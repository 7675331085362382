"""AIDE's tree search (arXiv 2502.13138) re-implemented on gome's harness.

Reading order: `policy` (which node to expand, and how: draft, debug or improve) -> `prompts`
(what each operator asks and how replies are read) -> `agent` (the Agent protocol's `propose`).
"""

from baselines.aide.agent import AideAgent
from baselines.aide.policy import AideConfig

__all__ = ["AideAgent", "AideConfig"]
