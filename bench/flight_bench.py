#!/usr/bin/env python3
"""The client side of `make bench-flight`, and the Python peers it is compared with.

  flight_bench.py read LOCATION TOKEN TICKET_JSON
      DoGet as fast as pyarrow reads; prints "rows seconds ipc_bytes" (from the call to the last batch)
  flight_bench.py slow LOCATION TOKEN TICKET_JSON ROWS_PER_SECOND SECONDS
      DoGet read at a fixed pace (a slow client), for SECONDS, then cancel; prints rows read
  flight_bench.py peer-server PORT POSTGRES_URL
      what a Python user would write instead: a pyarrow Flight server whose DoGet runs the ticket's
      SQL with psycopg and serves the rows as a pyarrow Table
  flight_bench.py adbc POSTGRES_URL SQL
      the fastest direct path without a server: adbc-driver-postgresql's Arrow fetch; prints "rows seconds"
"""
import json
import sys
import time

import pyarrow as pa
import pyarrow.flight as flight


def options(token):
    return flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {token}".encode())] if token else [])


def read(location, token, ticket):
    client = flight.FlightClient(location)
    start = time.perf_counter()
    reader = client.do_get(flight.Ticket(ticket.encode()), options(token))
    rows = 0
    size = 0
    while True:
        try:
            chunk = reader.read_chunk()
        except StopIteration:
            break
        rows += chunk.data.num_rows
        size += chunk.data.nbytes
    print(rows, time.perf_counter() - start, size)


def slow(location, token, ticket, rate, seconds):
    client = flight.FlightClient(location)
    reader = client.do_get(flight.Ticket(ticket.encode()), options(token))
    start = time.perf_counter()
    rows = 0
    while time.perf_counter() - start < seconds:
        try:
            chunk = reader.read_chunk()
        except StopIteration:
            break
        rows += chunk.data.num_rows
        # Holds each batch as long as the pace allows: the server must wait, not buffer.
        time.sleep(max(0.0, start + rows / rate - time.perf_counter()))
    reader.cancel()
    print(rows)


class PeerServer(flight.FlightServerBase):
    """psycopg reads the rows, pyarrow builds the table and serves it."""

    def __init__(self, location, url):
        super().__init__(location)
        self.url = url

    def do_get(self, context, ticket):
        import psycopg
        sql = ticket.ticket.decode()
        with psycopg.connect(self.url) as connection, connection.cursor(binary=True) as cursor:
            cursor.execute(sql)
            names = [column.name for column in cursor.description]
            rows = cursor.fetchall()
        columns = list(zip(*rows)) if rows else [[] for _ in names]
        table = pa.table({name: pa.array(values) for name, values in zip(names, columns)})
        return flight.RecordBatchStream(table)


def adbc(url, sql):
    import adbc_driver_postgresql.dbapi as dbapi
    start = time.perf_counter()
    with dbapi.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        table = cursor.fetch_arrow_table()
    print(table.num_rows, time.perf_counter() - start)


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "read":
        read(sys.argv[2], sys.argv[3], sys.argv[4])
    elif command == "slow":
        slow(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), float(sys.argv[6]))
    elif command == "peer-server":
        PeerServer(f"grpc://127.0.0.1:{sys.argv[2]}", sys.argv[3]).serve()
    elif command == "adbc":
        adbc(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
