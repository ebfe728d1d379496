"""``python -m cloudimages.cli``."""

from . import main

main()
