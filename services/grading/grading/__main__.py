"""``python -m grading {judge,worker}``."""

from grading.cli import main

raise SystemExit(main())
