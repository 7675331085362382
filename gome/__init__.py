"""gome: an MLE-bench agent (GoME optimizer, OMEGA, AIDE baseline) on one sandboxed harness."""

__version__ = "0.1.0"
