"""The floor the HTTP benchmark compares with: a bare Flask JSON route, served by the same gunicorn settings."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/bare")
def bare():
    """A small JSON object, nothing else: no database, no schema, no auth."""
    return jsonify({"id": 1, "status": "reported", "confidence": 0.6})
