"""Request body examples for the OpenAPI document, taken from the seed article (seeds/el-heraldo-kim-train.json).

Document id 1 is that article once the seeds are loaded; tests/test_contract.py sends every
example to a seeded ledger and expects each to be accepted.
"""

SOURCE = {
    "id": "kcna",
    "name": "KCNA",
    "kind": "state_media",
    "reliability": "D",
    "affiliation": "dprk-state",
    "country": "KP",
    "description": "Korean Central News Agency, North Korea's state news agency.",
}

SOURCE_CHANGE = {"reliability": "C"}

DOCUMENT = {
    "publisher": "el-heraldo",
    "title": "Kim Jong-un travels by armored train to Russia to meet with Vladimir Putin",
    "published_at": "2023-09-11T18:00:00-06:00",
    "language": "en",
}

DOCUMENT_RETRACTION = {"reason": "The publisher withdrew the article."}

CLAIM = {
    "text": "The Kremlin has proposed joint naval exercises to North Korea.",
    "subjects": ["Kremlin", "North Korea"],
    "parties": ["russia-state", "dprk-state"],
    "attributions": [
        {
            "source": "rok-nis",
            "via": ["el-heraldo"],
            "document_id": 1,
            "stance": "supports",
            "basis": "secondhand",
            "confidence": 0.6,
            "quote": "joint maritime maneuvers",
        }
    ],
}

CLAIM_CHANGE = {"subjects": ["Kremlin", "North Korea", "naval exercises"]}

ATTRIBUTION = {
    "source": "nyt",
    "via": ["el-heraldo"],
    "document_id": 1,
    "stance": "supports",
    "basis": "secondhand",
    "confidence": 0.6,
    "quote": "artillery and anti-tank missiles",
    "published_at": "2023-09-04T12:00:00-04:00",
}

ATTRIBUTION_RETRACTION = {"reason": "El Heraldo corrected the article: the report was not the Times'."}

# JSON Lines for POST /v1/imports: a document of the seeded El Heraldo and a claim citing it by key.
IMPORT = "\n".join([
    '{"type":"document","key":"vladivostok","publisher":"el-heraldo","title":"Kim arrives in Vladivostok",'
    '"published_at":"2023-09-13T09:00:00+09:00"}',
    '{"type":"claim","text":"Kim Jong-un arrived in Vladivostok by train.","parties":["dprk-state"],'
    '"attributions":[{"source":"el-heraldo","document_key":"vladivostok","stance":"supports","basis":"secondhand",'
    '"confidence":0.7}]}',
]) + "\n"
