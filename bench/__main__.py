"""``python -m bench [--backend sqlite|postgres|all] [--quick]``."""

from bench.run import main

raise SystemExit(main())
