"""`python -m logisync` is the `logisync` command."""

from .cli import main

main()
