"""`python -m gome` runs the CLI."""

from gome.cli import main

main()
