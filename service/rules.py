"""The status rules of reportedly: plain facts in; status, confidence, likelihood, explanation and origins out.

This module is the one place a claim's status is decided. It knows nothing of
Flask or the database: callers hand it the claim's attributions (as Statement),
the sources as they stood at the knowledge time (as SourceFacts) and the claim's
parties, and get back a Derivation. The API, `as_of` and `published_before`
reads, history and source re-grading all call derive_status().

Reliability (of a source) and confidence (in a claim) are kept apart on purpose:
the status describes the state of the reporting, the confidence the recorder's belief.
"""

from dataclasses import dataclass
from datetime import datetime
from math import prod

SUPPORTS = "supports"
DENIES = "denies"
STANCES = (SUPPORTS, DENIES)
BASES = ("official", "documentary", "firsthand", "secondhand", "assessment")
STATUSES = ("confirmed", "disputed", "denied", "reported", "unconfirmed")
RELIABILITY_GRADES = ("A", "B", "C", "D", "E", "F")

# Admiralty grades A-C ("completely", "usually", "fairly" reliable) count as credible.
CREDIBLE_GRADES = frozenset("ABC")
# A party's own record of its own act: what it officially did, or photos/documents it published.
PRIMARY_BASES = frozenset({"official", "documentary"})

# ICD 203 terms, as (upper bound, inclusive?, term), checked in order.
LIKELIHOOD_SCALE = (
    (0.05, False, "remote"),
    (0.20, False, "very unlikely"),
    (0.45, False, "unlikely"),
    (0.55, True, "roughly even chance"),
    (0.80, True, "likely"),
    (0.95, True, "very likely"),
)
ALMOST_CERTAIN = "almost certain"


@dataclass(frozen=True)
class SourceFacts:
    """What the rules need of a source, as it stood at the knowledge time."""

    id: str
    name: str
    reliability: str
    affiliation: str | None = None

    @property
    def group(self):
        """The origin group: the affiliation, or the source's own id when it has none."""
        return self.affiliation or self.id

    @property
    def credible(self):
        """Admiralty A, B or C."""
        return self.reliability in CREDIBLE_GRADES

    def interested(self, parties):
        """An interested party to a claim with these parties: its origin group is one of them."""
        return self.group in parties


@dataclass(frozen=True)
class Statement:
    """One attribution: `source` takes `stance` on the claim, relayed by `via`."""

    id: int
    source: str
    stance: str
    basis: str
    confidence: float
    recorded_at: datetime
    via: tuple = ()
    published_at: datetime | None = None
    retracted_at: datetime | None = None

    @classmethod
    def filled(cls, id, source, stance, basis, confidence, recorded_at, via, published_at, retracted_at):
        """The same Statement as the constructor makes, its fields filled in directly, in their order: a frozen
        dataclass's __init__ sets each one through object.__setattr__ (about 2 us; imports and writes make many)."""
        statement = object.__new__(cls)
        vars(statement).update(id=id, source=source, stance=stance, basis=basis, confidence=confidence,
                               recorded_at=recorded_at, via=via, published_at=published_at, retracted_at=retracted_at)
        return statement


@dataclass(frozen=True)
class Origin:
    """One origin group taking one stance: its sources count once, however often relayed."""

    group: str
    stance: str
    sources: tuple
    relays: tuple
    bases: tuple
    credible: bool
    interested: bool
    confidence: float

    @property
    def primary_record(self):
        """A party's own official or documentary record supporting the claim."""
        return self.stance == SUPPORTS and self.interested and bool(PRIMARY_BASES & set(self.bases))

    def as_dict(self):
        """The public shape of an origin entry."""
        return {
            "group": self.group,
            "sources": list(self.sources),
            "relays": list(self.relays),
            "bases": list(self.bases),
            "stance": self.stance,
            "credible": self.credible,
            "interested": self.interested,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class Derivation:
    """Everything derived for one claim at one knowledge time."""

    status: str
    confidence: float | None
    likelihood: str | None
    explanation: tuple
    origins: tuple


# What a claim with no active attribution derives to (rule 1).
NOTHING_ACTIVE = Derivation("unconfirmed", None, None, ("unconfirmed: no active attributions",), ())


def is_active(statement, as_of=None, published_before=None):
    """Whether a statement counts: recorded by `as_of`, not retracted by then, published by `published_before`."""
    if as_of is not None and statement.recorded_at > as_of:
        return False
    if statement.retracted_at is not None and (as_of is None or statement.retracted_at <= as_of):
        return False
    if published_before is not None and published(statement) > published_before:
        return False
    return True


def derive_status(statements, sources, parties, as_of=None, published_before=None):
    """Apply §3 and §4 to one claim: `sources` maps every source id named in `statements` to SourceFacts."""
    active = [s for s in statements if is_active(s, as_of, published_before)]
    if not active:
        return NOTHING_ACTIVE
    origins = collect_origins(active, sources, frozenset(parties))
    status, explanation = decide(origins, sources)
    confidence = combined_confidence(origins)
    return Derivation(status, confidence, likelihood(confidence), tuple(explanation), origins)


def world_timeline(statements, sources, parties, current=None, derive=None):
    """The claim's derivation over world time, as known now: [(published_from, Derivation)], oldest first.

    The first step (from None, the beginning of time) counts no statement; each later step
    starts at a distinct publication time of a statement active now and holds until the next.
    The last step counts every active statement: it is `current`, the derivation now, when given.
    `derive(statements)`, when given, stands for derive_status over those statements (a caller's cache).
    """
    derive = derive or (lambda counted: derive_status(counted, sources, parties))
    active = [s for s in statements if is_active(s)]
    published_at = [published(s) for s in active]  # once, not once a step
    times = sorted(set(published_at))
    steps = [(None, NOTHING_ACTIVE)]
    # What derive_status(active, ..., published_before=moment) counts: the statements published by then.
    steps += [(moment, derive([s for s, at in zip(active, published_at, strict=True) if at <= moment]))
              for moment in times[:-1]]
    if times:
        steps.append((times[-1], current or derive(active)))
    return steps


def published(statement):
    """When a statement counts as published: its publication time, or when it was recorded if it has none."""
    return statement.published_at or statement.recorded_at


def collect_origins(statements, sources, parties):
    """Group active statements by (origin group, stance); relays add no origin."""
    grouped = {}
    for statement in statements:
        group = sources[statement.source].group
        grouped.setdefault((statement.stance, group), []).append(statement)
    origins = [
        _make_origin(group, stance, members, sources, parties)
        for (stance, group), members in grouped.items()
    ]
    return tuple(sorted(origins, key=lambda o: (STANCES.index(o.stance), o.group)))


def _make_origin(group, stance, members, sources, parties):
    origin_sources = _unique(s.source for s in members)
    return Origin(
        group=group,
        stance=stance,
        sources=origin_sources,
        relays=tuple(r for r in _unique(r for s in members for r in s.via) if r not in origin_sources),
        bases=_unique(s.basis for s in members),
        credible=any(sources[s].credible for s in origin_sources),
        interested=sources[origin_sources[0]].interested(parties),  # every member shares the group
        confidence=max(s.confidence for s in members),
    )


def decide(origins, sources):
    """The decision list of §3, first match wins; returns (status, explanation sentences)."""
    supporting = [o for o in origins if o.stance == SUPPORTS]
    denying = [o for o in origins if o.stance == DENIES]
    primary = [o for o in supporting if o.primary_record]
    credible_support = [o for o in supporting if o.credible]
    independent_denials = [o for o in denying if o.credible and not o.interested]
    party_denials = [o for o in denying if o.interested]
    two_independent = len(credible_support) >= 2 and any(not o.interested for o in credible_support)
    name = _Namer(sources)

    if (primary or credible_support) and independent_denials:
        backers = primary or credible_support
        return "disputed", [
            f"disputed: supported by {name.origins(backers, primary=bool(primary))}; "
            f"denied by {name.origins(independent_denials)}, independent and credible"
        ]
    if primary or two_independent:
        reason = (
            f"confirmed: primary record by {name.origins(primary, primary=True)}"
            if primary
            else f"confirmed: independent credible origins {name.origins(credible_support)}"
        )
        if party_denials:
            return "confirmed", [reason, f"denied by {name.origins(party_denials)}, which does not undo confirmation"]
        return "confirmed", [reason]
    if independent_denials or party_denials:
        sentences = [f"denied by {name.origins(independent_denials + party_denials)}"]
        if supporting:
            sentences.append(f"still reported by {name.origins(supporting)}")
        return "denied", sentences
    if supporting:
        return "reported", _reported(supporting, credible_support, name)
    return "unconfirmed", [f"unconfirmed: only denied by {name.origins(denying)}, neither credible nor a party"]


def _reported(supporting, credible_support, name):
    """Why supported but not confirmed: one origin, or too few credible independent ones."""
    if len(supporting) == 1:
        sentences = [f"reported: single origin {name.origins(supporting)}"]
    else:
        sentences = [f"reported: {len(supporting)} origins {name.origins(supporting)}"]
    if len(credible_support) >= 2:
        sentences.append("not confirmed: every credible origin is a party to the claim")
    else:
        sentences.append("not confirmed: needs a party's own record or two credible origins, one of them independent")
    return sentences


def combined_confidence(origins):
    """§4: independent support combined, discounted by combined denial, rounded to 3 places."""
    if not origins:
        return None
    support = 1 - prod(1 - o.confidence for o in origins if o.stance == SUPPORTS)
    against = 1 - prod(1 - o.confidence for o in origins if o.stance == DENIES)
    return round(support * (1 - against), 3)


def likelihood(confidence):
    """The ICD 203 term for a confidence, or None without one."""
    if confidence is None:
        return None
    for bound, inclusive, term in LIKELIHOOD_SCALE:
        if confidence < bound or (inclusive and confidence == bound):
            return term
    return ALMOST_CERTAIN


class _Namer:
    """Names origins in explanation sentences: 'The New York Times (B), relayed by El Heraldo'."""

    def __init__(self, sources):
        self.sources = sources

    def origins(self, origins, primary=False):
        labels = [self.origin(o, primary) for o in origins]
        # "X (B), relayed by Y and Z (B)" would read as if Z relayed: separate such labels with ';'.
        return _join(labels, ";" if any(o.relays for o in origins) and len(labels) > 1 else ",")

    def origin(self, origin, primary=False):
        if primary:
            basis = next(b for b in origin.bases if b in PRIMARY_BASES)
            label = _join([f"{self.sources[s].name} (party, {basis})" for s in origin.sources])
        else:
            label = _join([self._source(s, origin.interested) for s in origin.sources])
        if origin.relays:
            label += ", relayed by " + _join([self.sources[r].name for r in origin.relays])
        return label

    def _source(self, source_id, interested):
        facts = self.sources[source_id]
        return f"{facts.name} (party)" if interested else f"{facts.name} ({facts.reliability})"


def _join(names, separator=","):
    names = list(names)
    if separator == ";":
        return "; ".join(names[:-1]) + "; and " + names[-1]
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _unique(items):
    return tuple(dict.fromkeys(items))
