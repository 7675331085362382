"""GoME: reasoning as gradient descent over a solution script (see `agent.py` for one step).

Reading order: `config` (the ablation flags) -> `trace` (state replayed from the journal) ->
`acceptance`, `momentum`, `schedule` (the pure pieces) -> `diagnosis`, `patches`, `prompts`
(what is asked and how replies are read) -> `agent` (the Agent protocol's `propose`).
"""

from gome.optimizer.agent import GomeAgent
from gome.optimizer.config import GomeConfig

__all__ = ["GomeAgent", "GomeConfig"]
