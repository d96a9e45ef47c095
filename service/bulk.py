"""Bulk import of JSON Lines (spec §10): sources, documents and claims, all-or-nothing per batch.

Each line is validated by the API's own schemas (service.bulk_lines), then a batch
is written in one transaction: sources and documents through their ledger functions,
runs of claims through creation.create_claims after one set lookup per batch for what
they cite. A bad line stops the import: its batch is not written, earlier ones stay.
The report is kept (ImportReport) and updated in each batch's transaction, so it
always lists exactly the batches that were written.
"""

import contextlib
import gc

from . import creation, ledger, source_writes, timeline
from .bulk_lines import BatchFailed, Unreadable, line_error, parse_line, read_lines
from .clock import utcnow
from .db import checkpoints_beside, db, is_postgresql, page_cache
from .errors import Conflict, Invalid, NotFound
from .models import MODELS, Document, ImportReport, Source

BATCH_SIZE = 10_000
# SQLite's page cache for an import's connection, in KiB (SQLite's default is 2,000). A batch changes tens of
# megabytes of table and index pages; with the default cache it wrote many of them to the WAL again and again
# before its commit, and read them back.
IMPORT_CACHE_KIB = 32_768
IN_CHUNK = 5000  # ids per IN (...) list, well under SQLite's bound-variable limit
KEPT_COLUMNS = ("id", "state", "origin", "started_at", "finished_at")


def import_ndjson(stream, batch_size=BATCH_SIZE, dry_run=False, origin="cli", progress=None, max_line_bytes=None):
    """Import the JSON Lines of a binary stream; return the report (kept unless a dry run)."""
    run = Import(batch_size=batch_size, dry_run=dry_run, origin=origin, progress=progress)
    return run.run(read_lines(stream, max_line_bytes))


def refresh_statistics():
    """After a bulk load on PostgreSQL, its planner's statistics of the ledger's tables: until autovacuum gets
    to them, plans fit the sizes from before the load (a claim read by id scanned every relay, 0.1 -> 18 ms
    after loading 100,000 claims). ANALYZE reads a sample of each table, so it costs about the same at any size."""
    if is_postgresql():
        db.execute_sql("ANALYZE " + ", ".join(f'"{model._meta.table_name}"' for model in MODELS))


def get_report(report_id):
    """A kept import report; NotFound if there is none."""
    row = ImportReport.get_or_none(ImportReport.id == report_id)
    if row is None:
        raise NotFound(f"There is no import {report_id}.")
    return {
        "id": row.id, "state": row.state, "origin": row.origin,
        "started_at": row.started_at, "finished_at": row.finished_at, **row.body,
    }


# --- an import -----------------------------------------------------------------------


class Import:
    """One run of an import: reads batches of lines, writes each in a transaction, keeps the report."""

    def __init__(self, batch_size=BATCH_SIZE, dry_run=False, origin="cli", progress=None):
        self.batch_size = batch_size
        self.dry_run = dry_run
        self.progress = progress or (lambda report: None)
        self.documents = {}  # client key -> (document id, line number)
        self.row = None
        self.report = {
            "id": None, "state": "running", "origin": origin, "dry_run": dry_run, "started_at": utcnow(),
            "finished_at": None, "batch_size": batch_size, "lines": 0,
            "counts": {"sources": 0, "documents": 0, "claims": 0, "attributions": 0},
            "batches": [], "created": {"sources": [], "documents": [], "claims": []}, "errors": [],
        }

    def run(self, lines):
        """Import (number, raw) lines; return the report."""
        if not self.dry_run:
            self._keep("running")
        try:
            if self.dry_run:
                with db.atomic() as everything:  # a dry run writes as usual, then takes it all back
                    self._run_batches(lines)
                    everything.rollback()
            else:
                self._run_batches(lines)
                refresh_statistics()
        except BaseException as error:
            self.report["errors"].append(line_error(self.report["lines"] + 1, None, f"Import stopped: {error}"))
            self._finish()
            raise
        self._finish()
        return self.report

    def _keep(self, state):
        """Create the kept report (its own transaction), so the batches can name it."""
        with db.atomic():
            self.row = ImportReport.create(
                started_at=self.report["started_at"], state=state, origin=self.report["origin"], body={}
            )
            self.report["id"] = self.row.id
            self._save_row(state)

    def _save_row(self, state):
        self.report["state"] = state
        self.row.state, self.row.finished_at = state, self.report["finished_at"]
        self.row.body = {k: v for k, v in self.report.items() if k not in KEPT_COLUMNS}
        self.row.save()

    def _finish(self):
        self.report["finished_at"] = utcnow()
        state = "failed" if self.report["errors"] else "completed"
        if self.row is None:
            self.report["state"] = state
            return
        with db.atomic():
            self._save_row(state)

    def _run_batches(self, lines):
        with page_cache(IMPORT_CACHE_KIB), checkpoints_beside() as checkpoints:
            for batch in self._batches(lines):
                # Paused until the batch's objects are freed: re-enabled while they live, it traverses them once more.
                with collector_paused():
                    written = self._import_batch(batch)
                if not written:
                    return
                checkpoints.due()

    def _batches(self, lines):
        """The lines in batches of batch_size; an unreadable line ends its batch."""
        batch = []
        for number, raw in lines:
            batch.append((number, raw))
            if len(batch) == self.batch_size or isinstance(raw, Unreadable):
                yield batch
                batch = []
        if batch:
            yield batch

    def _import_batch(self, batch):
        """Validate then write one batch; False when a line stopped the import."""
        first, last = batch[0][0], batch[-1][0]
        entry = {"first_line": first, "last_line": last, "written": False, "at": None}
        tally = {"sources": [], "documents": [], "claims": [], "attributions": 0}
        try:
            parsed = self._parse(batch)
            with ledger.claim_write():
                at = self._write(parsed, tally)
                entry["at"] = at.isoformat() if at else None
                entry["written"] = True
                self._record(entry, tally, last)
                if self.row is not None:
                    self._save_row("running")
        except BatchFailed as failure:
            entry["written"], entry["at"] = False, None
            self.report["batches"].append(entry)
            self.report["errors"].extend(failure.errors)
            self.report["lines"] = last
            return False
        self.progress(self.report)
        return True

    def _parse(self, batch):
        parsed, errors = [], []
        for number, raw in batch:
            try:
                line = parse_line(number, raw)
            except BatchFailed as failure:
                errors.extend(failure.errors)
                continue
            if line is not None:
                parsed.append((number, *line))
        if errors:
            raise BatchFailed(errors)
        return parsed

    def _record(self, entry, tally, last):
        """Add a written batch to the report."""
        report = self.report
        report["batches"].append(entry)
        report["lines"] = last
        for kind in ("sources", "documents", "claims"):
            report["counts"][kind] += len(tally[kind])
        report["counts"]["attributions"] += tally["attributions"]
        report["created"]["sources"].extend(tally["sources"])
        for kind in ("documents", "claims"):
            _add_ranges(report["created"][kind], tally[kind])

    def _write(self, parsed, tally):
        """Write a batch's lines in order, claims in runs; return the time of its last claims."""
        at, claims = None, []
        for number, kind, data, extras in parsed:
            if kind == "claim":
                claims.append((number, data, extras))
                continue
            at = self._write_claims(claims, tally) or at
            claims = []
            with _as_line_error(number):
                if kind == "source":
                    tally["sources"].append(source_writes.create_source(data).id)
                else:
                    tally["documents"].append(self._write_document(number, data, extras))
        return self._write_claims(claims, tally) or at

    def _write_document(self, number, data, extras):
        key = extras["key"]
        if key is not None and key in self.documents:
            raise Invalid("key", f"Is used by line {self.documents[key][1]} already.")
        document = ledger.create_document(data)
        if extras["retracted"]:
            ledger.retract_document(document.id, extras["retraction_reason"])
        if key is not None:
            self.documents[key] = (document.id, number)
        return document.id

    def _write_claims(self, claims, tally):
        """Check what a run of claims cites with one lookup per kind, then create them together."""
        if not claims:
            return None
        documents = self._check_references(claims)
        now = timeline.write_moment()
        for _, data, extras in claims:
            for attribution, extra in zip(data["attributions"], extras or [], strict=True):
                if extra.get("retracted"):
                    attribution["retracted_at"] = now
                    attribution["retraction_reason"] = extra["retraction_reason"]
        tally["claims"].extend(creation.create_claims([data for _, data, _ in claims], documents, now))
        tally["attributions"] += sum(len(data["attributions"]) for _, data, _ in claims)
        return now

    def _check_references(self, claims):
        """Sources, relays, parties, documents and quotes of a run of claims; return the cited documents."""
        for _, data, extras in claims:
            for attribution, extra in zip(data["attributions"], extras or [], strict=True):
                key = extra.get("document_key")
                if key is not None:
                    extra["both"] = attribution["document_id"] is not None
                    attribution["document_id"] = self.documents.get(key, (None,))[0]
        attributions = [a for _, data, _ in claims for a in data["attributions"]]
        sources = _existing_sources({a["source"] for a in attributions} | {s for a in attributions for s in a["via"]})
        groups = _known_groups({p for _, data, _ in claims for p in data["parties"]})
        documents = _cited_documents({a["document_id"] for a in attributions} - {None})
        errors = []
        for number, data, extras in claims:
            unknown = [p for p in data["parties"] if p not in groups]
            if unknown:
                errors.append(line_error(number, "parties", f"Not a known origin group: {', '.join(unknown)}."))
            extras = extras or [{}] * len(data["attributions"])
            for i, (attribution, extra) in enumerate(zip(data["attributions"], extras, strict=True)):
                for field, reason in _attribution_problems(attribution, extra, sources, documents):
                    errors.append(line_error(number, f"attributions.{i}.{field}", reason))
        if errors:
            raise BatchFailed(errors)
        return documents


def _attribution_problems(attribution, extra, sources, documents):
    """(field, reason) for everything wrong with what one attribution cites."""
    if attribution["source"] not in sources:
        yield "source", f"Unknown source: {attribution['source']}."
    missing = [s for s in attribution["via"] if s not in sources]
    if missing:
        yield "via", f"Unknown source: {', '.join(missing)}."
    if attribution["source"] in attribution["via"]:
        yield "via", "A source does not relay its own statement."
    key = extra.get("document_key")
    if extra.get("both"):
        yield "document_id", "Give document_key or document_id, not both."
    field = "document_key" if key is not None else "document_id"
    document_id = attribution.get("document_id")
    if key is not None and document_id is None:
        yield field, f"No earlier line has the document key {key!r}."
    elif document_id is not None and document_id not in documents:
        yield field, f"There is no document {document_id}."
    elif document_id is not None:
        document, quote = documents[document_id], attribution.get("quote")
        if document.retracted_at is not None and not extra.get("retracted"):
            yield field, f"Document {document_id} is retracted; only a retracted attribution may cite it."
        if quote is not None and document.text is not None and quote not in document.text:
            yield "quote", f"Does not occur verbatim in document {document_id}."


def _existing_sources(ids):
    """The ids among these that are sources, held against a concurrent change for this transaction."""
    found = set()
    for chunk in timeline.chunks(sorted(ids), IN_CHUNK):
        query = Source.select(Source.id).where(Source.id.in_(chunk)).order_by(Source.id)
        found.update(s.id for s in ledger.locking(query, "FOR SHARE"))
    return found


def _known_groups(parties):
    """The origin groups among these parties: an affiliation in use, or a source without one."""
    if not parties:
        return set()
    query = Source.select(Source.id, Source.affiliation).where(
        Source.affiliation.in_(sorted(parties)) | (Source.id.in_(sorted(parties)) & Source.affiliation.is_null())
    )
    return {s.affiliation or s.id for s in query}


def _cited_documents(ids):
    """The cited documents by id, held against a concurrent retraction for this transaction."""
    found = {}
    for chunk in timeline.chunks(sorted(ids), IN_CHUNK):
        query = Document.select().where(Document.id.in_(chunk)).order_by(Document.id)
        found.update((d.id, d) for d in ledger.locking(query, "FOR SHARE"))
    return found


@contextlib.contextmanager
def collector_paused():
    """Within: no cyclic garbage collection.

    A batch holds hundreds of thousands of new objects (lines, rows, derivations) for its
    whole life, and the collector traversed them again and again as they were made (a
    quarter of an import's CPU time). Reference counting frees them when the batch is
    done; the collector finds any cycles afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _add_ranges(ranges, ids):
    """Append ids to a list of inclusive [first, last] ranges, merging runs."""
    for i in ids:
        if ranges and ranges[-1][1] + 1 == i:
            ranges[-1][1] = i
        else:
            ranges.append([i, i])


class _as_line_error:
    """Turn a ledger refusal of one line into that line's error."""

    def __init__(self, number):
        self.number = number

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if isinstance(error, Invalid):
            raise BatchFailed([line_error(self.number, error.field, error.reason)]) from None
        if isinstance(error, Conflict):
            raise BatchFailed([line_error(self.number, "id", error.detail)]) from None
        return False
