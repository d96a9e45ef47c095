"""The floors the HTTP benchmarks compare with, served by the same gunicorn settings: a bare Flask JSON route, and a
bare durable write (one single-row INSERT committed on PostgreSQL, REPORTEDLY_DATABASE_URL) for bench/pg_writers.py."""

import os

from flask import Flask, jsonify

app = Flask(__name__)
# This worker's PostgreSQL connections that no request holds now (gevent: one per request served at once).
_idle = []


@app.get("/bare")
def bare():
    """A small JSON object, nothing else: no database, no schema, no auth."""
    return jsonify({"id": 1, "status": "reported", "confidence": 0.6})


@app.post("/bare-write")
def bare_write():
    """One row inserted and committed (synced to disk by PostgreSQL's commit), nothing else."""
    import psycopg

    connection = _idle.pop() if _idle else psycopg.connect(os.environ["REPORTEDLY_DATABASE_URL"], autocommit=True)
    try:
        connection.execute("CREATE TABLE IF NOT EXISTS bare_write (id bigserial PRIMARY KEY, at timestamptz)")
        connection.execute("INSERT INTO bare_write (at) VALUES (now())")
    finally:
        _idle.append(connection)
    return jsonify({"written": True}), 201
