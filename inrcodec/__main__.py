"""`python -m inrcodec ...`: the `linr` command."""
from .entry import main

raise SystemExit(main())
