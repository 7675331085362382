"""Proposers that need no LLM: the built-in recipe search (`BuiltinProposer`)."""

from gome.proposers.builtin import BuiltinProposer

__all__ = ["BuiltinProposer"]
