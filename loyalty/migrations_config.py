"""Configuration for tortoise's own CLI when writing a migration after a model change.

    LOYALTY_DATABASE_URL=sqlite:///tmp/mk.sqlite3 \
        tortoise -c loyalty.migrations_config.TORTOISE_ORM makemigrations
"""

from loyalty.db import tortoise_config
from loyalty.settings import from_env

TORTOISE_ORM = tortoise_config(from_env())
