"""Interchange formats: pure functions of a claim's derivation and rows, no Flask and no database.

attribution_line (the newsroom sentence), claimreview (schema.org JSON-LD),
provenance (W3C PROV through the `prov` package) and csv (RFC 4180 rows). The
shell that reads what they need from the ledger is service.interchange.
"""
