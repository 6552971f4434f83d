"""Database engine and sessions (SQLAlchemy 2 over psycopg 3)."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import sessionmaker

from gradestack_web.config import DatabaseSettings


def make_engine(settings: DatabaseSettings, pool_size: int | None = None) -> Engine:
    """An engine whose pooled connections are checked before use (RDS failover drops them)."""
    return create_engine(
        settings.url(),
        pool_size=pool_size or settings.pool_size,
        max_overflow=settings.pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
