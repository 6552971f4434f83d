"""`gradestack-web load-problems DIR`: upsert the problem directory into the database.

Idempotent: running it twice changes nothing the second time. Problems that vanished
from the directory are kept (old submissions reference them).
"""

from __future__ import annotations

from pathlib import Path

from gradestack_protocol.problems import load_problems
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gradestack_web.models import Problem


def load_directory(session: Session, directory: str | Path) -> list[str]:
    """Validate every problem first (so a broken one changes nothing), then upsert them all."""
    problems = load_problems(directory)
    for problem in problems:
        values = {
            "id": problem.id,
            "title": problem.title,
            "statement": problem.statement,
            "time_limit_ms": problem.time_limit_ms,
            "memory_limit_mb": problem.memory_limit_mb,
            "test_count": len(problem.tests),
        }
        stmt = insert(Problem).values(**values)
        changed = {k: stmt.excluded[k] for k in values if k != "id"}
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=[Problem.id],
                set_={**changed, "updated_at": func.now()},
                # Only touch rows whose content changed, so updated_at means something.
                where=(
                    (Problem.title != stmt.excluded.title)
                    | (Problem.statement != stmt.excluded.statement)
                    | (Problem.time_limit_ms != stmt.excluded.time_limit_ms)
                    | (Problem.memory_limit_mb != stmt.excluded.memory_limit_mb)
                    | (Problem.test_count != stmt.excluded.test_count)
                ),
            )
        )
    return [p.id for p in problems]
