#!/usr/bin/env python3
"""Reads an Arrow IPC stream with pyarrow and prints what it holds as JSON: the schema as
pyarrow sees it, the number of record batches, and every column's values as text (null as
null; booleans true/false; floats by repr; bytes as hex; decimals as text; dates in ISO form;
timestamps as integer microseconds; lists as [a,b]).

Usage: arrow_read.py STREAM_FILE"""
import json
import sys

import pyarrow as pa
import pyarrow.compute as pc


def text(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    if isinstance(v, list):
        return "[" + ",".join("null" if x is None else text(x) for x in v) + "]"
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def values(array):
    if isinstance(array.type, pa.ExtensionType):
        array = array.storage
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_timestamp(array.type):
        array = pc.cast(array, pa.int64())
    return [text(v) for v in array.to_pylist()]


def main():
    with open(sys.argv[1], "rb") as f:
        reader = pa.ipc.open_stream(f)
        batches = list(reader)
        schema = reader.schema
    table = pa.Table.from_batches(batches, schema=schema)
    print(json.dumps({
        "fields": [
            {
                "name": field.name,
                "type": str(field.type),
                "nullable": field.nullable,
                "metadata": {k.decode(): v.decode() for k, v in (field.metadata or {}).items()},
            }
            for field in schema
        ],
        "batches": len(batches),
        "rows": table.num_rows,
        "columns": {
            name: [v for chunk in table.column(name).chunks for v in values(chunk)] for name in table.column_names
        },
    }))


if __name__ == "__main__":
    main()
