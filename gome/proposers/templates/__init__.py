"""Script templates the built-in proposer fills in (valid Python, imported for its helpers)."""
