"""Claims as RFC 4180 CSV: a header row, every field quoted as needed, formula-like cells neutralised."""

import csv
import io

COLUMNS = (
    "id", "text", "status", "confidence", "likelihood", "attribution_line", "explanation",
    "origin_sources", "subjects", "parties", "event_time", "created_at", "updated_at",
)
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = "; "


def neutralise(cell):
    """A cell a spreadsheet shows as text: a leading apostrophe before anything formula-like."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def cells(claim):
    """One claim view as the CSV's text cells, in COLUMNS order."""
    values = {
        **claim,
        "explanation": LIST_SEPARATOR.join(claim["explanation"]),
        "origin_sources": LIST_SEPARATOR.join(dict.fromkeys(s for o in claim["origins"] for s in o["sources"])),
        "subjects": LIST_SEPARATOR.join(claim["subjects"]),
        "parties": LIST_SEPARATOR.join(claim["parties"]),
    }
    return [neutralise(_text(values.get(column))) for column in COLUMNS]


def _text(value):
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def csv_chunks(batches):
    """The CSV text, a header row and then one chunk per batch of claim views (CRLF line ends)."""
    yield _lines([COLUMNS])
    for batch in batches:
        yield _lines(cells(claim) for claim in batch)


def _lines(rows):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()
