"""The attribution line: the sentence a newsroom style guide would have a reporter write for a claim.

It is built from the derivation's status and origins (service.rules.Origin), never
from the explanation's text: the status picks the pattern, the origins fill it in. A
claim with no active origin left says whose statements were retracted: those origins
come from the same inputs (retracted_origins).
Every pattern, with an example in each language, is listed in docs/attribution-lines.md.
"""

from dataclasses import replace

from ..rules import DENIES, PRIMARY_BASES, SUPPORTS, Origin, collect_origins, is_active

LANGUAGES = ("en", "es")

# Pattern key -> sentence template per language; {support}, {denial}, {primary}, {retracted} are origin labels.
TEMPLATES = {
    "en": {
        "confirmed-primary-record": "According to {primary}.",
        "confirmed-primary-record-party-denial": "According to {primary}; denied by {denial}.",
        "confirmed-independent-origins": "Confirmed by {n} independent sources, {support}.",
        "confirmed-independent-origins-party-denial": "Confirmed by {n} independent sources, {support}; "
                                                      "denied by {denial}.",
        "disputed": "Disputed: according to {support}; denied by {denial}.",
        "denied-independent-denial": "Denied by {denial}.",
        "denied-party-denial": "Denied by {denial}.",
        "denied-still-reported": "Reported by {support}; denied by {denial}.",
        "reported-one-origin": "According to {support}; not independently confirmed.",
        "reported-one-origin-relayed": "According to {support}; not independently confirmed.",
        "reported-several-origins": "According to {n} separate sources, {support}; not independently confirmed.",
        "unconfirmed-weak-denial": "Unconfirmed: denied only by {denial}, neither credible nor a party to it.",
        "unconfirmed-retracted": "Unconfirmed: no source on record currently says this; "
                                 "statements retracted: {retracted}.",
        "unconfirmed-no-active-attributions": "Unconfirmed: no source on record currently says this.",
    },
    "es": {
        "confirmed-primary-record": "Según {primary}.",
        "confirmed-primary-record-party-denial": "Según {primary}; desmentido por {denial}.",
        "confirmed-independent-origins": "Confirmado por {n} fuentes independientes, {support}.",
        "confirmed-independent-origins-party-denial": "Confirmado por {n} fuentes independientes, {support}; "
                                                      "desmentido por {denial}.",
        "disputed": "En disputa: según {support}; desmentido por {denial}.",
        "denied-independent-denial": "Desmentido por {denial}.",
        "denied-party-denial": "Desmentido por {denial}.",
        "denied-still-reported": "Afirmado por {support}; desmentido por {denial}.",
        "reported-one-origin": "Según {support}; sin confirmación independiente.",
        "reported-one-origin-relayed": "Según {support}; sin confirmación independiente.",
        "reported-several-origins": "Según {n} fuentes distintas, {support}; sin confirmación independiente.",
        "unconfirmed-weak-denial": "Sin confirmar: desmentido solo por {denial}, "
                                   "sin fiabilidad acreditada ni condición de parte.",
        "unconfirmed-retracted": "Sin confirmar: ninguna fuente registrada lo sostiene actualmente; "
                                 "declaraciones retiradas: {retracted}.",
        "unconfirmed-no-active-attributions": "Sin confirmar: ninguna fuente registrada lo sostiene actualmente.",
    },
}
PATTERNS = tuple(TEMPLATES["en"])

# The words each language needs around origin names.
WORDS = {
    "en": {"and": "and", "party": "a party to it", "relayed": "as relayed by",
           "official": "the official record of {names}",
           "documentary": "photographs or documents published by {names}",
           "numbers": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")},
    "es": {"and": "y", "party": "parte implicada", "relayed": "citado por",
           "official": "el registro oficial de {names}",
           "documentary": "fotografías o documentos publicados por {names}",
           "numbers": ("cero", "una", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez")},
}


def attribution_line(derivation, names, lang="en", retracted=()):
    """The newsroom sentence for a derivation (service.rules.Derivation or a claim view), in `lang`.

    `retracted`: the origins of its retracted statements (retracted_origins), named when nothing else stands.
    """
    status, origins = status_and_origins(derivation)
    key, parts = line_parts(status, origins, retracted)
    writer = _Writer(names, lang)
    values = {
        "primary": writer.primary(parts["primary"]),
        "support": writer.labels(parts["support"]),
        "denial": writer.labels(parts["denial"]),
        "retracted": writer.labels(parts["retracted"]),
        "n": writer.number(len(parts["support"])),
    }
    return TEMPLATES[lang][key].format(**values)


def status_and_origins(derivation):
    """The status and Origin objects of a Derivation, or of a mapping with `status` and origin dicts."""
    if isinstance(derivation, dict):
        return derivation["status"], tuple(origin_from_dict(o) for o in derivation["origins"])
    return derivation.status, tuple(derivation.origins)


def origin_from_dict(entry):
    """An Origin from its public (and stored) shape."""
    return Origin(
        group=entry["group"], stance=entry["stance"], sources=tuple(entry["sources"]),
        relays=tuple(entry.get("relays", ())), bases=tuple(entry.get("bases", ())),
        credible=entry["credible"], interested=entry["interested"], confidence=entry["confidence"],
    )


def retracted_origins(statements, sources, parties, as_of=None, published_before=None):
    """The origins of the statements that would count at `as_of` but for their retraction."""
    withdrawn = [
        s for s in statements
        if not is_active(s, as_of, published_before)
        and is_active(replace(s, retracted_at=None), as_of, published_before)
    ]
    return collect_origins(withdrawn, sources, parties)


def line_parts(status, origins, retracted=()):
    """The pattern key for a status, its origins and its retracted ones, and the origins that fill each slot."""
    supporting = [o for o in origins if o.stance == SUPPORTS]
    denying = [o for o in origins if o.stance == DENIES]
    primary = [o for o in supporting if o.primary_record]
    credible_support = [o for o in supporting if o.credible]
    independent = [o for o in denying if o.credible and not o.interested]
    party = [o for o in denying if o.interested]
    parts = {"primary": [], "support": [], "denial": [], "retracted": []}
    if status == "confirmed":
        parts.update(primary=primary, support=[] if primary else credible_support, denial=party)
        key = "confirmed-primary-record" if primary else "confirmed-independent-origins"
        return key + ("-party-denial" if party else ""), parts
    if status == "disputed":
        parts.update(primary=primary, support=primary or credible_support, denial=independent)
        return "disputed", parts
    if status == "denied":
        parts.update(support=supporting, denial=independent + party)
        if supporting:
            return "denied-still-reported", parts
        return ("denied-independent-denial" if independent else "denied-party-denial"), parts
    if status == "reported":
        parts.update(support=supporting)
        if len(supporting) > 1:
            return "reported-several-origins", parts
        return ("reported-one-origin-relayed" if supporting[0].relays else "reported-one-origin"), parts
    parts.update(denial=denying)
    if denying:
        return "unconfirmed-weak-denial", parts
    if retracted:
        parts.update(retracted=list(retracted))
        return "unconfirmed-retracted", parts
    return "unconfirmed-no-active-attributions", parts


class _Writer:
    """Names origins in one language: 'The New York Times, as relayed by El Heraldo'."""

    def __init__(self, names, lang):
        if lang not in LANGUAGES:
            raise ValueError(f"No attribution lines in {lang!r}; choose one of {', '.join(LANGUAGES)}.")
        self.names, self.lang, self.words = names, lang, WORDS[lang]

    def name(self, source_id):
        return self.names.get(source_id) or source_id

    def label(self, origin, primary=False):
        names = self.join([self.name(s) for s in origin.sources])
        if primary:
            basis = next(b for b in origin.bases if b in PRIMARY_BASES)
            label = self.words[basis].format(names=names) + ", " + self.words["party"]
        else:
            label = names + (", " + self.words["party"] if origin.interested else "")
        if origin.relays:
            label += f", {self.words['relayed']} " + self.join([self.name(r) for r in origin.relays])
        return label

    def labels(self, origins, primary=False):
        labels = [self.label(o, primary) for o in origins]
        # "A, as relayed by B and C" would read as if C relayed too: separate such labels with ';'.
        return self.join(labels, ";" if any("," in label for label in labels) and len(labels) > 1 else ",")

    def primary(self, origins):
        return self.labels(origins, primary=True)

    def number(self, n):
        numbers = self.words["numbers"]
        return numbers[n] if n < len(numbers) else str(n)

    def join(self, items, separator=","):
        items = list(items)
        if len(items) <= 1:
            return "".join(items)
        last = f"{self._and(items[-1])} {items[-1]}"
        if separator == ";":
            return "; ".join(items[:-1]) + "; " + last
        return ", ".join(items[:-1]) + " " + last

    def _and(self, following):
        # Spanish writes "e" for "y" before a word that starts with the sound /i/ ("e Interfax").
        word = following.lower()
        if self.lang == "es" and (word.startswith("i") or (word.startswith("hi") and word[2:3] not in "aeiouáéó")):
            return "e"
        return self.words["and"]
