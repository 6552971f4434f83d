"""``python -m gradestack_grading {judge,worker}``."""

from gradestack_grading.cli import main

raise SystemExit(main())
