"""The naive relay a user might write instead of pg-bridge (the reference for `make bench-bridge`):
psycopg reads 500 unpublished change-log rows, nats-py publishes them asynchronously with
Nats-Msg-Id, waits for the acks, marks the rows published; repeat until the backlog is empty.
Prints events/s."""
import asyncio
import json
import sys
import time

import nats
import psycopg


async def main(postgres_url: str, nats_url: str, stream: str, prefix: str) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[prefix + ".>"], duplicate_window=120)
    published = 0
    start = time.perf_counter()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        while True:
            rows = conn.execute(
                "SELECT c.id, event_id, entity_type, entity_id, operation, before, after, changes, tenant_id, occurred_at "
                "FROM fraiseql_observer.change_log_pending p JOIN fraiseql_observer.change_log c ON c.id = p.id "
                "ORDER BY p.id LIMIT 500").fetchall()
            if not rows:
                break
            futures = []
            for (id_, event_id, entity_type, entity_id, op, before, after, changes, tenant, occurred) in rows:
                event = {"id": str(event_id), "cursor": id_, "source": "relay", "entity_type": entity_type,
                         "entity_id": entity_id, "operation": op, "before": before, "after": after,
                         "changes": changes, "tenant_id": tenant, "occurred_at": occurred.isoformat(),
                         "schema_version": 1}
                futures.append(js.publish(f"{prefix}.{entity_type}.{op}", json.dumps(event).encode(),
                                          headers={"Nats-Msg-Id": str(event_id)}))
            await asyncio.gather(*futures)
            conn.execute("DELETE FROM fraiseql_observer.change_log_pending WHERE id = ANY(%s)",
                         ([r[0] for r in rows],))
            published += len(rows)
    elapsed = time.perf_counter() - start
    print(f"{published / elapsed:.0f}")
    await js.delete_stream(stream)
    await nc.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
