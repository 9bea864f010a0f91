"""Alembic migrations of the commerce database (shipped inside the package)."""
