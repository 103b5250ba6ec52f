"""Which test services answer: prints the environment `make test` runs pytest with.

PostgreSQL (127.0.0.1:5432, database test) and Redis (127.0.0.1:6379) are
used when they answer. Under CI=true a missing service fails the run: a
silent skip would hide half of the suite.
"""
from __future__ import annotations

import asyncio
import os
import sys

import asyncpg
import redis.asyncio as redis

PG = os.environ.get("GUICHET_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("GUICHET_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


async def _postgres() -> str | None:
    try:
        connection = await asyncpg.connect(PG.replace("+asyncpg", ""), timeout=3)
        await connection.close()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


async def _redis() -> str | None:
    client = redis.Redis.from_url(REDIS, socket_connect_timeout=3)
    try:
        await client.ping()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        await client.aclose()


def main() -> int:
    pg_error, redis_error = asyncio.run(_postgres()), asyncio.run(_redis())
    ci = os.environ.get("CI", "").lower() == "true"
    for name, error in (("PostgreSQL", pg_error), ("Redis", redis_error)):
        if error:
            print(f"{'error' if ci else 'warning'}: {name} does not answer ({error})", file=sys.stderr)
    if ci and (pg_error or redis_error):
        print("CI=true: every service must answer; start them (see docs/testing.md)", file=sys.stderr)
        return 1
    if not pg_error:
        print(f"GUICHET_TEST_DATABASE_URL={PG}")
    if not redis_error:
        print(f"GUICHET_TEST_REDIS_URL={REDIS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
