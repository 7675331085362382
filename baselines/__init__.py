"""Agents a user compares GoME against, on the same harness (runner, grader, journal, LLM)."""
