"""Alembic migrations of the Poreline store (applied by ``controller.store.database.upgrade``)."""
