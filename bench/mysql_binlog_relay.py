"""The Python peer of mysql-bridge's binlog mode (the reference for `make bench-mysql-bridge`):
PyPI mysql-replication reads the same binlog from the same position as a replica, and nats-py
publishes each row as an event, asynchronously, with Nats-Msg-Id, 1,000 in flight. Prints events/s
once ROWS rows of DATABASE.orders are published."""
import asyncio
import json
import sys
import time

import nats
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent


def jsonable(value):
    if isinstance(value, (bytes, bytearray)):
        return "\\x" + value.hex()
    if isinstance(value, (int, float, str)) or value is None:
        return value
    return str(value)


async def main(mysql_url: str, nats_url: str, database: str, log_file: str, log_pos: str, rows: str) -> None:
    rest = mysql_url.split("://", 1)[1]
    credentials, address = rest.split("@", 1)
    user, _, password = credentials.partition(":")
    host, port = address.split("/", 1)[0].split(":")
    wanted = int(rows)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    stream = "PYRELAY_" + database.upper()
    prefix = "pyrelay_" + database
    await js.add_stream(name=stream, subjects=[prefix + ".>"], duplicate_window=120)
    reader = BinLogStreamReader(
        connection_settings={"host": host, "port": int(port), "user": user, "passwd": password},
        server_id=4_000_000_000 - int(time.time()) % 1_000_000, log_file=log_file, log_pos=int(log_pos),
        resume_stream=True, blocking=True, only_schemas=[database], only_tables=["orders"],
        only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent])
    published = 0
    futures = []
    start = time.perf_counter()
    for event in reader:
        op = {WriteRowsEvent: "insert", UpdateRowsEvent: "update", DeleteRowsEvent: "delete"}[type(event)]
        for index, row in enumerate(event.rows):
            after = row.get("after_values", row.get("values")) if op != "delete" else None
            before = row.get("before_values", row.get("values")) if op != "insert" else None
            event_id = f"{reader.log_file}:{event.packet.log_pos}:{index}"
            payload = {"id": event_id, "source": "pyrelay", "entity_type": "order", "operation": op,
                       "entity_id": str((after or before)["id"]),
                       "before": before and {k: jsonable(v) for k, v in before.items()},
                       "after": after and {k: jsonable(v) for k, v in after.items()},
                       "occurred_at": event.timestamp, "schema_version": 1}
            futures.append(js.publish(f"{prefix}.order.{op}", json.dumps(payload).encode(),
                                      headers={"Nats-Msg-Id": event_id}))
            published += 1
            if len(futures) >= 1000:
                await asyncio.gather(*futures)
                futures = []
        if published >= wanted:
            break
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - start
    reader.close()
    print(f"{published / elapsed:.0f}")
    await js.delete_stream(stream)
    await nc.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:7]))
