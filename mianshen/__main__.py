"""`python -m mianshen …`: the same command as `mianshen …`."""

from mianshen.cli import main

main()
