"""Kept derivations (service.derived.Derivations) give what the status rules give, whatever was kept or forgotten."""

from hypothesis import given, settings
from hypothesis import strategies as st

from service.derived import Derivations, _fields_of
from service.rules import derive_status, is_active, world_timeline
from tests.test_rules import SOURCES, make_statements, parties_strategy, statement_fields

CLAIMS = st.lists(st.tuples(st.lists(statement_fields, max_size=6), parties_strategy), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(CLAIMS, st.integers(1, 6))
def test_kept_derivations_are_the_rules_own(claims, limit):
    kept = Derivations(limit)  # a small limit: tables fill and are forgotten between claims
    for _ in range(2):  # the second round finds what the first kept
        for specs, parties in claims:
            statements = make_statements(specs)
            now, fields, _, steps = kept.world(statements, SOURCES, parties)
            expected = derive_status([s for s in statements if is_active(s)], SOURCES, parties)
            assert now == expected and fields == _fields_of(expected)
            timeline = world_timeline(statements, SOURCES, parties)
            assert [form[1] for form in steps] == [_fields_of(derivation) for _, derivation in timeline]
