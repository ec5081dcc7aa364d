"""Alembic environment: the app's own engine, metadata from the SQLModel tables."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers the tables)
from app.db import make_engine

engine = context.config.attributes.get("engine") or make_engine(
    context.config.get_main_option("sqlalchemy.url") or ""
)
with engine.connect() as connection:
    context.configure(
        connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()
