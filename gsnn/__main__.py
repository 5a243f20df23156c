"""``python -m gsnn``: the same command line as the ``gsnn`` console script."""

from gsnn.cli import main

raise SystemExit(main())
