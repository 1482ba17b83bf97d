"""Where the tests find PostgreSQL: the machine's local one, or ESL_TEST_POSTGRES_URL."""

from __future__ import annotations

import os

POSTGRES_URL = os.environ.get("ESL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
