"""The pages that write, after /login: each form goes through the API's schema and a ledger function."""

from flask import flash, redirect, render_template, request, url_for

from .. import ledger, source_writes
from ..rules import BASES, STANCES
from ..schemas import AttributionSchema, ClaimPatchSchema, ClaimSchema, RetractionSchema, SourcePatchSchema
from . import blp
from .forms import REFUSALS, Outcome, form_data, numbered, refusal, renumbered, unchanged_since
from .reads import render_claim, render_document, render_source, source_labels
from .session import requires, sign_in, sign_out

ATTRIBUTION_FIELDS = ("source", "via", "stance", "basis", "confidence", "document_id", "quote", "published_at")
CLAIM_FIELDS = ("text", "subjects", "parties", "event_time")
FIRST_ATTRIBUTIONS = 3  # blank attribution boxes on the new-claim form; more can be added on the claim page


@blp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with an API token; the session keeps its key id only."""
    outcome = Outcome()
    if request.method == "POST":
        if sign_in(request.form.get("token", "")):
            flash("Signed in.")
            return redirect(url_for("web.board"))
        outcome = Outcome({"token": ["This token is unknown or revoked."]}, "Not signed in.", 401)
    return render_template("web/login.html", outcome=outcome), outcome.status


@blp.post("/logout")
def logout():
    """End the session."""
    sign_out()
    flash("Signed out.")
    return redirect(url_for("web.board"))


@blp.route("/claims/new", methods=["GET", "POST"])
@requires("write")
def new_claim():
    """A new claim with its first attribution."""
    outcome = Outcome()
    if request.method == "POST":
        fields = CLAIM_FIELDS + tuple(f"attributions.{n}.{name}" for n in range(FIRST_ATTRIBUTIONS)
                                      for name in ATTRIBUTION_FIELDS)
        data, boxes = numbered(form_data(request.form, fields), "attributions")
        # A box left blank is no attribution (its two pickers always send a value).
        given = [n for n, box in sorted(boxes.items()) if set(box) - {"stance", "basis"}]
        try:
            claim = ledger.create_claim(ClaimSchema().load({**data, "attributions": [boxes[n] for n in given]}))
            flash(f"Claim {claim.id} recorded.")
            return redirect(url_for("web.claim", claim_id=claim.id))
        except REFUSALS as error:
            outcome = renumbered(refusal(error), "attributions", given)
    return render_template("web/new_claim.html", outcome=outcome, form=request.form, stances=STANCES, bases=BASES,
                           source_labels=source_labels(), boxes=range(FIRST_ATTRIBUTIONS)), outcome.status


@blp.post("/claims/<id:claim_id>/attributions")
@requires("write")
def add_attribution(claim_id):
    """Attribute a claim to a source."""
    try:
        data = AttributionSchema().load(form_data(request.form, ATTRIBUTION_FIELDS))
        attribution, claim = ledger.add_attribution(claim_id, data)
    except REFUSALS as error:
        outcome = refusal(error)
        return render_claim(claim_id, outcomes={"attribution": outcome}, status=outcome.status)
    flash(f"Attribution recorded; the claim is now {claim.fields['status']}.")
    return redirect(url_for("web.claim", claim_id=claim_id, _anchor=f"attribution-{attribution.id}"))


@blp.post("/claims/<id:claim_id>/attributions/<id:attribution_id>/retraction")
@requires("write")
def retract_attribution(claim_id, attribution_id):
    """Retract one attribution with a reason."""
    try:
        _, claim = ledger.retract_attribution(attribution_id, RetractionSchema().load(
            form_data(request.form, ("reason",)))["reason"])
    except REFUSALS as error:
        outcome = refusal(error)
        return render_claim(claim_id, outcomes={f"retract-{attribution_id}": outcome}, status=outcome.status)
    flash(f"Attribution {attribution_id} retracted; the claim is now {claim.status}.")
    return redirect(url_for("web.claim", claim_id=claim.id))


@blp.post("/claims/<id:claim_id>/parties")
@requires("write")
def edit_parties(claim_id):
    """Change a claim's parties; a form drawn before someone else's change is refused as stale."""
    raw = form_data(request.form, ("parties",)).get("parties", [])
    try:
        changes = ClaimPatchSchema(partial=True).load({"parties": raw})
        ledger.update_claim(claim_id, changes, unchanged_since(request.form.get("version", "")))
    except REFUSALS as error:
        outcome = refusal(error)
        return render_claim(claim_id, outcomes={"parties": outcome}, status=outcome.status)
    flash("Parties saved.")
    return redirect(url_for("web.claim", claim_id=claim_id))


@blp.post("/documents/<id:document_id>/retraction")
@requires("write")
def retract_document(document_id):
    """Retract a document and every attribution in it."""
    try:
        ledger.retract_document(document_id, RetractionSchema().load(form_data(request.form, ("reason",)))["reason"])
    except REFUSALS as error:
        outcome = refusal(error)
        return render_document(document_id, outcome, outcome.status)
    flash(f"Document {document_id} retracted, with every attribution in it.")
    return redirect(url_for("web.document", document_id=document_id))


@blp.post("/sources/<slug:source_id>/grade")
@requires("admin")
def regrade_source(source_id):
    """Give a source a new reliability grade; its claims are re-derived."""
    try:
        changes = SourcePatchSchema(partial=True).load(form_data(request.form, ("reliability",)))
        source_writes.update_source(source_id, changes, unchanged_since(request.form.get("version", "")))
    except REFUSALS as error:
        outcome = refusal(error)
        return render_source(source_id, outcome, outcome.status)
    flash("Grade saved; the source's claims were re-derived.")
    return redirect(url_for("web.source", source_id=source_id))
