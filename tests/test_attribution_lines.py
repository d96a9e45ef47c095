"""The attribution line: every pattern in both languages, against docs/attribution-lines.md and the seeds."""

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from service.formats.attribution_line import LANGUAGES, PATTERNS, attribution_line, line_parts, retracted_origins
from service.rules import SourceFacts, Statement, derive_status

DOC = Path(__file__).resolve().parent.parent / "docs" / "attribution-lines.md"
T0 = datetime(2023, 9, 11, tzinfo=timezone.utc)
SOURCES = {s.id: s for s in (
    SourceFacts("kcna", "KCNA", "D", "dprk-state"),
    SourceFacts("kremlin", "Kremlin", "D", "russia-state"),
    SourceFacts("nyt", "The New York Times", "B"),
    SourceFacts("el-heraldo", "El Heraldo", "C"),
    SourceFacts("unsc", "UN Security Council", "A"),
    SourceFacts("rok-nis", "South Korean intelligence", "B"),
    SourceFacts("yonhap", "Yonhap", "B"),
    SourceFacts("reuters", "Reuters", "A"),
    SourceFacts("tabloid", "The Daily Rumour", "E"),
    SourceFacts("interfax", "Interfax", "E"),
)}
NAMES = {s.id: s.name for s in SOURCES.values()}


def say(source, stance="supports", basis="secondhand", via=(), retracted=False):
    return Statement(0, source, stance, basis, 0.6, T0, tuple(via), None, T0 + timedelta(hours=1) if retracted else None)


# case name -> (statements, parties, the pattern it shows)
CASES = {
    "primary record, documentary": (
        [say("kcna", basis="documentary", via=["el-heraldo"])], ["dprk-state"], "confirmed-primary-record"),
    "primary record, official": (
        [say("unsc", basis="official", via=["el-heraldo"])], ["unsc"], "confirmed-primary-record"),
    "primary record, party denial": (
        [say("kcna", basis="documentary"), say("kremlin", "denies")], ["dprk-state", "russia-state"],
        "confirmed-primary-record-party-denial"),
    "independent origins": (
        [say("rok-nis", via=["el-heraldo"]), say("yonhap")], ["russia-state"], "confirmed-independent-origins"),
    "independent origins, party denial": (
        [say("nyt"), say("yonhap"), say("kremlin", "denies")], ["russia-state"],
        "confirmed-independent-origins-party-denial"),
    "disputed": ([say("nyt"), say("reuters", "denies")], [], "disputed"),
    "independent denial": ([say("reuters", "denies")], [], "denied-independent-denial"),
    "party denial": ([say("kremlin", "denies")], ["russia-state"], "denied-party-denial"),
    "party denial of a report": (
        [say("nyt", via=["el-heraldo"]), say("kremlin", "denies")], ["russia-state"], "denied-still-reported"),
    "independent denial of a weak report": (
        [say("tabloid"), say("reuters", "denies")], [], "denied-still-reported"),
    "one origin": ([say("el-heraldo", basis="assessment")], ["dprk-state"], "reported-one-origin"),
    "one origin, relayed": ([say("nyt", via=["el-heraldo"])], ["russia-state"], "reported-one-origin-relayed"),
    "one origin, a party": ([say("kremlin", basis="firsthand")], ["russia-state"], "reported-one-origin"),
    "several origins": ([say("el-heraldo"), say("interfax")], [], "reported-several-origins"),
    "weak denial only": ([say("tabloid", "denies")], [], "unconfirmed-weak-denial"),
    "every attribution retracted": (
        [say("nyt", via=["el-heraldo"], retracted=True), say("kremlin", "denies", retracted=True)], ["russia-state"],
        "unconfirmed-retracted"),
    "no attribution yet": ([], [], "unconfirmed-no-active-attributions"),
}


def derive(case):
    statements, parties, _ = CASES[case]
    return derive_status(statements, SOURCES, parties)


def retracted(case):
    statements, parties, _ = CASES[case]
    return retracted_origins(statements, SOURCES, parties)


def line(case, lang="en"):
    """The line the service writes for a case: from its derivation and its retracted origins."""
    return attribution_line(derive(case), NAMES, lang, retracted(case))


def documented_rows():
    """The rows of the patterns table: case, pattern, English, Spanish."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[1].startswith("`"):
            rows[cells[0]] = {"pattern": cells[1].strip("`"), "en": cells[3], "es": cells[4]}
    return rows


def test_every_pattern_has_a_case_and_every_case_shows_its_pattern():
    assert {pattern for _, _, pattern in CASES.values()} == set(PATTERNS)
    for case, (_, _, pattern) in CASES.items():
        derivation = derive(case)
        assert line_parts(derivation.status, derivation.origins, retracted(case))[0] == pattern, case


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_documented_table_is_what_the_service_writes(lang):
    rows = documented_rows()
    assert set(rows) == set(CASES), "docs/attribution-lines.md lists exactly the cases of this test"
    for case, row in rows.items():
        assert row["pattern"] == CASES[case][2], case
        assert line(case, lang) == row[lang], case


def test_a_line_comes_from_the_origins_not_the_explanation():
    derivation = derive("one origin, relayed")
    scrambled = derivation.__class__(derivation.status, derivation.confidence, derivation.likelihood,
                                     ("anything at all",), derivation.origins)
    assert attribution_line(scrambled, NAMES) == attribution_line(derivation, NAMES)
    assert attribution_line(derivation, NAMES) == (
        "According to The New York Times, as relayed by El Heraldo; not independently confirmed.")


def test_the_stored_origin_shape_gives_the_same_line_as_the_derivation():
    for case in CASES:
        derivation = derive(case)
        view = {"status": derivation.status, "origins": [o.as_dict() for o in derivation.origins]}
        for lang in LANGUAGES:
            assert attribution_line(view, NAMES, lang, retracted(case)) == line(case, lang)


def test_only_what_was_retracted_by_then_is_named():
    statements, parties, _ = CASES["every attribution retracted"]
    before = retracted_origins(statements, SOURCES, parties, as_of=T0 + timedelta(minutes=30))
    after = retracted_origins(statements, SOURCES, parties, as_of=T0 + timedelta(hours=2))
    assert before == () and [o.sources for o in after] == [("nyt",), ("kremlin",)]
    assert retracted_origins(statements, SOURCES, parties, published_before=T0 - timedelta(days=1)) == ()
    assert retracted("one origin") == ()


def test_spanish_writes_e_before_an_i_sound_and_numbers_in_words():
    line = attribution_line(derive("several origins"), NAMES, "es")
    assert line == "Según dos fuentes distintas, El Heraldo e Interfax; sin confirmación independiente."


def test_an_unknown_source_name_falls_back_to_its_id():
    assert attribution_line(derive("independent denial"), {}) == "Denied by reuters."


# --- through the API, on both databases ------------------------------------------

SEED_LINES = {
    "Kim Jong Un left Pyongyang for Russia by armored train.": (
        "According to photographs or documents published by KCNA, a party to it, as relayed by El Heraldo.",
        "Según fotografías o documentos publicados por KCNA, parte implicada, citado por El Heraldo."),
    "Kim Jong Un hopes to receive food aid from Russia.": (
        "According to The New York Times, as relayed by El Heraldo; not independently confirmed.",
        "Según The New York Times, citado por El Heraldo; sin confirmación independiente."),
    "Kim Jong Un will meet Vladimir Putin during his visit to Russia.": (
        "According to El Heraldo; not independently confirmed.",
        "Según El Heraldo; sin confirmación independiente."),
    "The UN Security Council has adopted nine sanctions resolutions against North Korea.": (
        "According to the official record of UN Security Council, a party to it, as relayed by El Heraldo.",
        "Según el registro oficial de UN Security Council, parte implicada, citado por El Heraldo."),
}


@pytest.fixture
def seeded(app):
    from service.db import db
    from service.seeding import load_seeds

    with app.app_context(), db.connection_context():
        load_seeds(Path(__file__).resolve().parent.parent / "seeds")
    return app


def test_seed_claims_carry_their_line_in_lists_and_single_reads(seeded, client):
    for lang, index in (("en", 0), ("es", 1)):
        items = client.get("/v1/claims", query_string={"limit": 200, "lang": lang}).get_json()["items"]
        assert len(items) == 19 and all(item["attribution_line"] for item in items)
        by_text = {item["text"]: item for item in items}
        for text, lines in SEED_LINES.items():
            assert by_text[text]["attribution_line"] == lines[index]
            single = client.get(f"/v1/claims/{by_text[text]['id']}", query_string={"lang": lang}).get_json()
            assert single["attribution_line"] == lines[index]


def test_writes_answer_with_the_line_and_it_follows_the_status(ledger):
    ledger.source("nyt", name="The New York Times")
    ledger.source("yonhap", name="Yonhap", kind="wire_service")
    ledger.source("el-heraldo", reliability="C", name="El Heraldo")
    claim = ledger.claim("Drills were proposed.", attributions=[
        {"source": "nyt", "via": ["el-heraldo"], "stance": "supports", "basis": "secondhand", "confidence": 0.6}])
    assert claim["attribution_line"] == (
        "According to The New York Times, as relayed by El Heraldo; not independently confirmed.")
    result = ledger.attribute(claim["id"], "yonhap")
    assert result["claim"]["attribution_line"] == (
        "Confirmed by two independent sources, The New York Times, as relayed by El Heraldo; and Yonhap.")
    retracted = ledger.retract(result["id"])
    assert retracted["claim"]["attribution_line"].startswith("According to The New York Times")
    response = ledger.client.post("/v1/claims?lang=es", json={"text": "Otra."}, headers=ledger.auth())
    assert response.get_json()["attribution_line"] == (
        "Sin confirmar: ninguna fuente registrada lo sostiene actualmente.")


def test_the_etag_does_not_depend_on_the_language(ledger):
    claim = ledger.claim("A claim.")
    english = ledger.client.get(f"/v1/claims/{claim['id']}")
    spanish = ledger.client.get(f"/v1/claims/{claim['id']}?lang=es")
    assert english.headers["ETag"] == spanish.headers["ETag"]
    response = ledger.client.patch(f"/v1/claims/{claim['id']}?lang=es", json={"text": "Changed."},
                                   headers={**ledger.auth(), "If-Match": spanish.headers["ETag"]})
    assert response.status_code == 200 and response.get_json()["text"] == "Changed."
    assert re.search("Sin confirmar", response.get_json()["attribution_line"])


def test_an_unknown_language_is_a_422(ledger):
    response = ledger.client.get("/v1/claims?lang=fr")
    assert response.status_code == 422 and "lang" in response.get_json()["errors"]


def test_origins_stored_before_they_had_relays_still_get_the_full_line(ledger, app):
    from service.db import db
    from service.models import Claim

    ledger.source("kcna", reliability="D", affiliation="dprk-state", name="KCNA", kind="state_media")
    ledger.source("el-heraldo", reliability="C", name="El Heraldo")
    claim = ledger.claim("Kim left.", parties=["dprk-state"], attributions=[
        {"source": "kcna", "via": ["el-heraldo"], "stance": "supports", "basis": "documentary", "confidence": 0.9}])
    with app.app_context(), db.connection_context():
        old_shape = [{k: v for k, v in o.items() if k not in ("relays", "bases")} for o in claim["origins"]]
        Claim.update(origins=old_shape).where(Claim.id == claim["id"]).execute()
    assert ledger.get(f"/v1/claims/{claim['id']}")["attribution_line"] == claim["attribution_line"]
    assert claim["attribution_line"].startswith("According to photographs or documents published by KCNA")


def register_sources(ledger):
    for source in SOURCES.values():
        ledger.source(source.id, source.reliability, source.affiliation, source.name)


def test_the_documented_table_is_what_the_api_answers(ledger):
    """Every case of the table built through the API, read back in both languages, single and in a list."""
    register_sources(ledger)
    rows, made = documented_rows(), {}
    for case, (statements, parties, _) in CASES.items():
        claim = ledger.claim(case, parties=parties)
        for s in statements:
            attribution = ledger.attribute(claim["id"], s.source, s.stance, s.basis, s.confidence, via=list(s.via))
            if s.retracted_at is not None:
                ledger.retract(attribution["id"])
        made[claim["id"]] = case
    for lang in LANGUAGES:
        for claim_id, case in made.items():
            assert ledger.get(f"/v1/claims/{claim_id}", lang=lang)["attribution_line"] == rows[case][lang], case
        items = ledger.get("/v1/claims", lang=lang, limit=50)["items"]
        listed = {item["id"]: item["attribution_line"] for item in items}
        assert listed == {claim_id: rows[case][lang] for claim_id, case in made.items()}


def test_a_retraction_is_named_until_something_stands_and_not_before_it_was_made(ledger):
    ledger.source("nyt", name="The New York Times")
    ledger.source("yonhap", name="Yonhap", kind="wire_service")
    claim = ledger.claim("Drills were proposed.")
    first = ledger.attribute(claim["id"], "nyt")
    before = ledger.get(f"/v1/claims/{claim['id']}")["updated_at"]
    retracted = ledger.retract(first["id"])
    assert retracted["claim"]["attribution_line"] == (
        "Unconfirmed: no source on record currently says this; statements retracted: The New York Times.")
    assert ledger.get(f"/v1/claims/{claim['id']}", as_of=before)["attribution_line"] == (
        "According to The New York Times; not independently confirmed.")
    rows = ledger.get("/v1/claims", lang="es")["items"]
    assert rows[0]["attribution_line"] == ("Sin confirmar: ninguna fuente registrada lo sostiene actualmente; "
                                           "declaraciones retiradas: The New York Times.")
    ledger.attribute(claim["id"], "yonhap")
    assert ledger.get(f"/v1/claims/{claim['id']}")["attribution_line"] == (
        "According to Yonhap; not independently confirmed.")
