"""`python -m inrcodec ...`: the `linr` command."""
from .entry import run

run()
