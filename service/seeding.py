"""Load seed files: sources, documents and claims, validated like API input; loading twice adds nothing."""

import json
from pathlib import Path

from . import ledger, source_writes
from .models import Claim, Document, Source
from .schemas import ClaimSchema, DocumentSchema, SourceSchema


def seed_files(path):
    """A seed file, or the *.json files of a folder in name order."""
    path = Path(path)
    return sorted(path.glob("*.json")) if path.is_dir() else [path]


def load_seeds(path):
    """Load every seed file under `path`; return how many of each kind were added."""
    counts = {"sources": 0, "documents": 0, "claims": 0}
    for file in seed_files(path):
        added = load_seed(json.loads(file.read_text(encoding="utf-8")))
        for kind, n in added.items():
            counts[kind] += n
    return counts


def load_seed(seed):
    """Add what a seed document holds and the ledger lacks: sources by id, documents by title, claims by text."""
    added = {"sources": 0, "documents": 0, "claims": 0}
    for source in seed.get("sources", []):
        if Source.get_or_none(Source.id == source["id"]) is None:
            source_writes.create_source(SourceSchema().load(source))
            added["sources"] += 1
    documents = {}
    for document in seed.get("documents", []):
        fields = {k: v for k, v in document.items() if k != "key"}
        existing = Document.get_or_none(
            (Document.publisher == fields["publisher"]) & (Document.title == fields["title"])
        )
        if existing is None:
            existing = ledger.create_document(DocumentSchema().load(fields))
            added["documents"] += 1
        documents[document["key"]] = existing.id
    for claim in seed.get("claims", []):
        if Claim.get_or_none(Claim.text == claim["text"]) is None:
            ledger.create_claim(ClaimSchema().load(_resolve_documents(claim, documents)))
            added["claims"] += 1
    return added


def _resolve_documents(claim, documents):
    """Seed attributions name their document by key; the API wants its id."""
    attributions = []
    for attribution in claim.get("attributions", []):
        attribution = dict(attribution)
        key = attribution.pop("document", None)
        if key is not None:
            attribution["document_id"] = documents[key]
        attributions.append(attribution)
    return {**claim, "attributions": attributions}
