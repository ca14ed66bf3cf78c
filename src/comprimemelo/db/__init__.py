"""The database: engines and sessions (``engine``), migrations (``migrate``,
``migrations/``), PostgreSQL's driver tuning (``pg8000_tuning``), Cloud SQL
(``cloudsql``), the web's first-come, first-served turns at the pool (``turns``) and
the dashboard poll's one statement run on the driver connection (``driver_statement``).
"""

from comprimemelo.db.engine import create_engine, outside_a_transaction, ping, session_factory
from comprimemelo.db.migrate import MIGRATION_CONNECTIONS, downgrade, upgrade

__all__ = ["MIGRATION_CONNECTIONS", "create_engine", "downgrade", "outside_a_transaction", "ping",
           "session_factory", "upgrade"]
