"""``python -m aquarium``: the same as the ``aquarium`` console script."""

from aquarium.cli import main

main()
