#!/usr/bin/env python3
"""An Arrow Flight client on pyarrow.flight (and polars / DuckDB on what it reads), for the tests.

Usage: flight_client.py '<JSON request>'; prints one JSON object. The request:
  {"location": "grpc://127.0.0.1:PORT", "token": "...", "op": OP, ...}
OP is one of
  read      {"ticket": {...}, "max_batches": n (optional: then cancel)} -> schema, rows, columns
  list      -> the flights (descriptor paths, schema fields)
  info      {"path": [...]} or {"cmd": {...}} -> the flight's schema fields and ticket
  schema    {"path": [...]} -> schema fields
  actions   {"repeat": n (optional)} -> action types; with repeat, the errors of n calls in a row
  action    {"type": "...", "body": "..."} -> result bodies
  handshake {"username": "...", "password": "..."} -> the bearer header the server returned
  polars    {"ticket": {...}} -> polars' row count and dtypes
  duckdb    {"ticket": {...}, "sql": "... FROM events ..."} -> DuckDB's answer
  put       -> DoPut (unimplemented)
  mint      {"claims": {...}, "algorithm": "HS256", "key": "..." or "key_file": PEM} -> a JWT (PyJWT)
  validate  {"schema": path, "instance": {...}} -> whether the JSON Schema accepts it (jsonschema)
Errors print {"error": exception class name, "message": text}.
Options: "tls_root" (PEM of the CA), "cert"/"key" (client certificate)."""
import json
import sys

import pyarrow as pa
import pyarrow.flight as flight


def fields(schema):
    return [
        {"name": f.name, "type": str(f.type), "nullable": f.nullable}
        for f in schema
    ]


def text(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def columns(table):
    out = {}
    for name in table.column_names:
        values = []
        for chunk in table.column(name).chunks:
            if pa.types.is_dictionary(chunk.type):
                chunk = chunk.dictionary_decode()
            if pa.types.is_timestamp(chunk.type):
                chunk = chunk.cast(pa.int64())
            values += [text(v) for v in chunk.to_pylist()]
        out[name] = values
    return out


def main():
    request = json.loads(sys.argv[1])
    if request["op"] == "validate":
        import jsonschema
        try:
            jsonschema.validate(request["instance"], json.load(open(request["schema"])))
            print(json.dumps({"valid": True}))
        except jsonschema.ValidationError as error:
            print(json.dumps({"valid": False, "message": error.message}))
        return
    if request["op"] == "mint":
        import time
        import jwt
        claims = dict(request["claims"])
        claims["exp"] = int(time.time()) + claims.pop("expires_in", 300)
        key = request.get("key") or open(request["key_file"]).read()
        print(json.dumps({"token": jwt.encode(claims, key, algorithm=request["algorithm"])}))
        return
    kwargs = {}
    if "tls_root" in request:
        kwargs["tls_root_certs"] = open(request["tls_root"], "rb").read()
    if "cert" in request:
        kwargs["cert_chain"] = open(request["cert"], "rb").read()
        kwargs["private_key"] = open(request["key"], "rb").read()
    client = flight.FlightClient(request["location"], **kwargs)
    headers = []
    if request.get("token") is not None:
        headers.append((b"authorization", ("Bearer " + request["token"]).encode()))
    options = flight.FlightCallOptions(headers=headers, timeout=request.get("timeout", 30))
    op = request["op"]
    try:
        if op == "read":
            ticket = flight.Ticket(json.dumps(request["ticket"]).encode())
            reader = client.do_get(ticket, options)
            if "max_batches" in request:
                batches = []
                for _ in range(request["max_batches"]):
                    chunk = reader.read_chunk()
                    batches.append(chunk.data)
                reader.cancel()
                table = pa.Table.from_batches(batches)
                print(json.dumps({"rows": table.num_rows, "batches": len(batches), "cancelled": True,
                                  "columns": columns(table)}))
                return
            table = reader.read_all()
            print(json.dumps({
                "fields": fields(table.schema),
                "rows": table.num_rows,
                "batches": len(table.to_batches()),
                "columns": columns(table),
            }))
        elif op == "list":
            infos = list(client.list_flights(b"", options))
            print(json.dumps({"flights": [
                {"path": [p.decode() if isinstance(p, bytes) else p for p in (i.descriptor.path or [])],
                 "fields": fields(i.schema), "total_records": i.total_records}
                for i in infos]}))
        elif op in ("info", "schema"):
            if "path" in request:
                descriptor = flight.FlightDescriptor.for_path(*request["path"])
            else:
                descriptor = flight.FlightDescriptor.for_command(json.dumps(request["cmd"]).encode())
            if op == "schema":
                result = client.get_schema(descriptor, options)
                print(json.dumps({"fields": fields(result.schema)}))
            else:
                info = client.get_flight_info(descriptor, options)
                print(json.dumps({"fields": fields(info.schema),
                                  "tickets": [e.ticket.ticket.decode() for e in info.endpoints],
                                  "total_records": info.total_records}))
        elif op == "actions":
            # "repeat": that many calls at once from this process; the errors they met.
            errors = []
            for _ in range(request.get("repeat", 1) - 1):
                try:
                    list(client.list_actions(options))
                except Exception as error:
                    errors.append(str(error))
            actions = [a.type for a in client.list_actions(options)] if not errors else []
            print(json.dumps({"actions": actions, "errors": errors}))
        elif op == "action":
            results = client.do_action(flight.Action(request["type"], request.get("body", "").encode()), options)
            print(json.dumps({"results": [r.body.to_pybytes().decode() for r in results]}))
        elif op == "handshake":
            pair = client.authenticate_basic_token(request["username"], request["password"])
            print(json.dumps({"header": [pair[0].decode(), pair[1].decode()]}))
        elif op == "polars":
            import polars as pl
            table = client.do_get(flight.Ticket(json.dumps(request["ticket"]).encode()), options).read_all()
            frame = pl.from_arrow(table)
            print(json.dumps({"rows": frame.height, "dtypes": {n: str(t) for n, t in frame.schema.items()}}))
        elif op == "duckdb":
            import duckdb
            events = client.do_get(flight.Ticket(json.dumps(request["ticket"]).encode()), options).read_all()
            connection = duckdb.connect()
            connection.register("events", events)
            rows = connection.execute(request["sql"]).fetchall()
            print(json.dumps({"rows": [[text(v) for v in row] for row in rows]}))
        elif op == "put":
            writer, _ = client.do_put(flight.FlightDescriptor.for_path("x"), pa.schema([("a", pa.int64())]), options)
            writer.close()
            print(json.dumps({"ok": True}))
        else:
            raise SystemExit(f"unknown op {op}")
    except Exception as error:  # the test asserts on the class and message
        print(json.dumps({"error": type(error).__name__, "message": str(error)}))


if __name__ == "__main__":
    main()
