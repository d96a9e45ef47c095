"""W3C PROV for claims, through the `prov` package: who said what, who relayed it, and how each status was reached.

Mapping (spec §11): sources are prov:Agents; documents and statements (attributions)
are prov:Entities attributed to their sources; a document is a collection whose
members are the statements appearing in it; each relay is an entity quoted from the
next one inward, with the origin's statement as its primary source; retractions are
invalidations at their time; every history entry is an assessment entity derived from
the statements active at its time, a revision of the assessment before it.
"""

from dataclasses import dataclass
from types import SimpleNamespace

from prov.constants import PROV
from prov.identifier import Namespace
from prov.model import ProvDocument

from ..rules import is_active

VOCABULARY = "urn:reportedly:"
RPT = Namespace("rpt", VOCABULARY)
# Media types and `format=` names of the serialisations, and prov's serializer arguments for each.
FORMATS = {
    "prov-json": ("application/json", {"format": "json"}),
    "provn": ("text/provenance-notation", {"format": "provn"}),
    "prov-jsonld": ("application/ld+json", {"format": "jsonld"}),
    "turtle": ("text/turtle", {"format": "rdf", "rdf_format": "turtle"}),
}
MEDIA_TYPES = {media_type: name for name, (media_type, _) in FORMATS.items()}


@dataclass(frozen=True)
class ClaimRecord:
    """What the PROV document tells of one claim: its view, its attributions (retracted too), its history."""

    claim: dict
    attributions: list
    history: list


def new_document(base_url):
    """An empty PROV document with this service's namespaces."""
    base = base_url.rstrip("/")
    document = ProvDocument()
    document.add_namespace("rpt", VOCABULARY)
    document.add_namespace("src", f"{base}/v1/sources/")
    document.add_namespace("doc", f"{base}/v1/documents/")
    document.add_namespace("claim", f"{base}/v1/claims/")
    document.add_namespace("stmt", f"{base}/v1/attributions/")
    document.add_namespace("assessment", f"{base}/v1/history/")
    document.agent("rpt:reportedly", [(PROV["type"], PROV["SoftwareAgent"]), (PROV["label"], "reportedly")])
    return document


def provenance_document(records, sources, documents, base_url):
    """A PROV document for these claims, with the sources and documents they name."""
    writer = ProvenanceWriter(base_url)
    writer.add_claims(records, sources, documents)
    return writer.document


def serialize(document, name):
    """The document in one of FORMATS, as text."""
    return document.serialize(**FORMATS[name][1])


class ProvenanceWriter:
    """Builds one ProvDocument claim by claim, batch by batch, adding each agent and document once."""

    def __init__(self, base_url):
        self.document = new_document(base_url)
        self.known = set()

    def add_claims(self, records, sources, documents):
        """Add claims with the sources and documents they name."""
        for record in records:
            self.claim(record, sources, documents)

    def add_sources(self, sources):
        """Add sources as agents, whether or not a claim names them."""
        for source in sources:
            self.source(source)

    def qualified(self, identifier):
        """A reference to another record, written as a qualified name rather than a string."""
        return self.document.valid_qualified_name(identifier)

    def _once(self, identifier, add):
        if identifier not in self.known:
            self.known.add(identifier)
            add()
        return identifier

    def source(self, source):
        kind = PROV["Person"] if source["kind"] == "person" else PROV["Organization"]
        attributes = [(PROV["type"], kind), (PROV["label"], source["name"]), ("rpt:kind", source["kind"]),
                      ("rpt:reliability", source["reliability"])]
        if source.get("affiliation"):
            attributes.append(("rpt:affiliation", source["affiliation"]))
        return self._once(f"src:{source['id']}", lambda: self.document.agent(f"src:{source['id']}", attributes))

    def publication(self, document, sources):
        identifier = f"doc:{document['id']}"

        def add():
            attributes = [(PROV["type"], RPT["Document"]), (PROV["type"], PROV["Collection"]),
                          (PROV["label"], document["title"])]
            attributes += _present([("rpt:url", document["url"]), ("rpt:publishedAt", document["published_at"]),
                                    ("rpt:language", document["language"])])
            self.document.entity(identifier, attributes)
            self.document.wasAttributedTo(identifier, self.source(sources[document["publisher"]]))
            self.retraction(identifier, document)
        return self._once(identifier, add)

    def claim(self, record, sources, documents):
        claim = record.claim
        claim_id = f"claim:{claim['id']}"
        self.document.entity(claim_id, [(PROV["type"], RPT["Claim"]), (PROV["value"], claim["text"]),
                                        ("rpt:createdAt", claim["created_at"])])
        statements = [self.statement(a, claim_id, sources, documents) for a in record.attributions]
        self.assessments(record, claim_id, statements)

    def statement(self, attribution, claim_id, sources, documents):
        identifier = f"stmt:{attribution['id']}"
        attributes = [(PROV["type"], RPT["Statement"]), ("rpt:about", self.qualified(claim_id)),
                      ("rpt:stance", attribution["stance"]), ("rpt:basis", attribution["basis"]),
                      ("rpt:confidence", attribution["confidence"]), ("rpt:recordedAt", attribution["recorded_at"])]
        attributes += _present([("rpt:quote", attribution["quote"]), ("rpt:publishedAt", attribution["published_at"])])
        self.document.entity(identifier, attributes)
        self.document.wasAttributedTo(identifier, self.source(sources[attribution["source"]]))
        outermost = self.relays(attribution, identifier, sources)
        if attribution["document_id"] is not None:
            self.document.hadMember(self.publication(documents[attribution["document_id"]], sources), outermost)
        self.retraction(identifier, attribution)
        return SimpleNamespace(identifier=identifier, **attribution)

    def retraction(self, identifier, row):
        """A retracted document or statement is invalidated at its retraction, with the reason."""
        if row["retracted_at"] is not None:
            reason = _present([("rpt:reason", row["retraction_reason"])])
            self.document.wasInvalidatedBy(identifier, None, row["retracted_at"], other_attributes=reason)

    def relays(self, attribution, statement_id, sources):
        """One entity per relay, outermost first, each quoting the next inward; returns the outermost."""
        inner = statement_id
        for position in reversed(range(len(attribution["via"]))):
            relay = f"{statement_id}-relay-{position}"
            self.document.entity(relay, [(PROV["type"], RPT["Relay"])])
            self.document.wasAttributedTo(relay, self.source(sources[attribution["via"][position]]))
            self.document.wasQuotedFrom(relay, inner)
            self.document.hadPrimarySource(relay, statement_id)
            inner = relay
        return inner

    def assessments(self, record, claim_id, statements):
        previous = None
        for entry in record.history:
            identifier = f"assessment:{entry['id']}"
            attributes = [(PROV["type"], RPT["Assessment"]), ("rpt:about", self.qualified(claim_id)),
                          ("rpt:status", entry["status"]),
                          ("rpt:cause", f"{entry['cause']['kind']} {entry['cause']['id']}")]
            attributes += _present([("rpt:confidence", entry["confidence"])])
            self.document.entity(identifier, attributes)
            self.document.wasGeneratedBy(identifier, None, entry["at"])
            self.document.wasAttributedTo(identifier, "rpt:reportedly")
            for statement in statements:
                if is_active(statement, as_of=entry["at"]):
                    self.document.wasDerivedFrom(identifier, statement.identifier)
            if previous is not None:
                self.document.wasRevisionOf(identifier, previous)
            previous = identifier


def _present(pairs):
    return [(key, value) for key, value in pairs if value is not None]
