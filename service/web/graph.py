"""The provenance graph of one claim as inline SVG: sources -> relays -> claim (pure; no binary, no I/O).

Each attribution is a path from its source through its relays, in order, to the claim.
Lines are coloured by stance and labelled, dashed when retracted; a source whose origin
group is a party to the claim is drawn with a double border and marked "party".
"""

from xml.sax.saxutils import escape, quoteattr

from ..rules import SourceFacts

STANCE_COLOURS = {"supports": "#1a7f37", "denies": "#b42318"}
NODE_W, NODE_H, COLUMN_GAP, ROW_GAP, MARGIN = 230, 44, 70, 18, 12


def columns_of(attributions):
    """Each source's column: 0 for an origin, its relay position + 1 for a relay (first placement wins)."""
    column = {}
    for a in attributions:
        for depth, source_id in enumerate([a["source"], *a["via"]]):
            column.setdefault(source_id, depth)
    return column


def layout(attributions):
    """(x, y) of each source node and of the claim, and the drawing's width and height."""
    column = columns_of(attributions)
    depth = max(column.values(), default=-1) + 1
    rows = {}
    positions = {}
    for source_id, col in column.items():
        row = rows.setdefault(col, 0)
        rows[col] += 1
        positions[source_id] = (MARGIN + col * (NODE_W + COLUMN_GAP), MARGIN + row * (NODE_H + ROW_GAP))
    tallest = max(rows.values(), default=1)
    height = 2 * MARGIN + tallest * NODE_H + (tallest - 1) * ROW_GAP + 28
    claim_at = (MARGIN + depth * (NODE_W + COLUMN_GAP), (height - 28 - NODE_H) // 2)
    return positions, claim_at, max(claim_at[0] + NODE_W + MARGIN, 340), height


def provenance_svg(claim, sources):
    """The SVG text for a claim view (service.queries shape) and {source id: SourceFacts} at the same time."""
    attributions = claim["attributions"]
    positions, claim_at, width, height = layout(attributions)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="provenance" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="graph-title graph-desc">',
        f'<title id="graph-title">Provenance of claim {claim["id"]}</title>',
        f'<desc id="graph-desc">{escape(describe(claim, sources))}</desc>',
        _markers(),
    ]
    for a in attributions:
        parts += _edges(a, positions, claim_at)
    for source_id, (x, y) in positions.items():
        facts = _facts(sources, source_id)
        parts.append(_source_node(source_id, facts, x, y, facts.interested(claim["parties"])))
    parts.append(_claim_node(claim, *claim_at))
    parts.append(_legend(height))
    parts.append("</svg>")
    return "\n".join(parts)


def describe(claim, sources):
    """A sentence per attribution, for screen readers and for anyone without the picture."""
    lines = []
    for a in claim["attributions"]:
        chain = " via ".join(_facts(sources, s).name for s in [a["source"], *a["via"]])
        retracted = " (retracted)" if a["retracted_at"] else ""
        lines.append(f"{chain} {a['stance']}{retracted}.")
    return " ".join(lines) or "No attributions."


def _facts(sources, source_id):
    """A source's facts, or a stand-in named by its id for one the page could not find."""
    return sources.get(source_id) or SourceFacts(source_id, source_id, "?")


def _markers():
    return "<defs>" + "".join(
        f'<marker id="arrow-{stance}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="{colour}"/></marker>'
        for stance, colour in STANCE_COLOURS.items()
    ) + "</defs>"


def _edges(attribution, positions, claim_at):
    chain = [positions[s] for s in [attribution["source"], *attribution["via"]]] + [claim_at]
    colour = STANCE_COLOURS.get(attribution["stance"], "#555555")
    dash = ' stroke-dasharray="6 4"' if attribution["retracted_at"] else ""
    edges = []
    for (x1, y1), (x2, y2) in zip(chain, chain[1:], strict=False):
        start, end = (x1 + NODE_W, y1 + NODE_H // 2), (x2, y2 + NODE_H // 2)
        if x2 <= x1:  # a relay in an earlier column: leave from the node's bottom
            start = (x1 + NODE_W // 2, y1 + NODE_H)
        edges.append(
            f'<line x1="{start[0]}" y1="{start[1]}" x2="{end[0]}" y2="{end[1]}" stroke="{colour}" stroke-width="2"'
            f'{dash} marker-end="url(#arrow-{attribution["stance"]})"><title>{escape(attribution["stance"])}'
            f'{" (retracted)" if dash else ""}</title></line>'
        )
    return edges


def _source_node(source_id, facts, x, y, is_party):
    label = f"{facts.name} ({facts.reliability})"
    border = (f'<rect x="{x - 3}" y="{y - 3}" width="{NODE_W + 6}" height="{NODE_H + 6}" rx="8" fill="none" '
              f'stroke="#1f2937" stroke-width="1.5"/>') if is_party else ""
    mark = f'<text x="{x + 8}" y="{y + 36}" font-size="11" fill="#1f2937">party to the claim</text>' if is_party else ""
    return (
        f'<g class="source-node" data-source={quoteattr(source_id)}>{border}'
        f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="#ffffff" stroke="#1f2937"/>'
        f'<text x="{x + 8}" y="{y + 19}" font-size="13" fill="#111827">{escape(_fit(label))}</text>{mark}</g>'
    )


def _claim_node(claim, x, y):
    return (
        f'<g class="claim-node"><rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="#eef2ff" '
        f'stroke="#312e81" stroke-width="2"/><text x="{x + 8}" y="{y + 19}" font-size="13" fill="#111827">'
        f'Claim {claim["id"]}</text><text x="{x + 8}" y="{y + 36}" font-size="12" fill="#111827">'
        f'{escape(claim["status"])}</text></g>'
    )


def _legend(height):
    y = height - 10
    return (
        f'<g class="legend" font-size="12" fill="#111827">'
        f'<line x1="{MARGIN}" y1="{y - 4}" x2="{MARGIN + 30}" y2="{y - 4}" stroke="{STANCE_COLOURS["supports"]}" '
        f'stroke-width="2"/><text x="{MARGIN + 36}" y="{y}">supports</text>'
        f'<line x1="{MARGIN + 110}" y1="{y - 4}" x2="{MARGIN + 140}" y2="{y - 4}" stroke="{STANCE_COLOURS["denies"]}" '
        f'stroke-width="2"/><text x="{MARGIN + 146}" y="{y}">denies</text>'
        f'<line x1="{MARGIN + 210}" y1="{y - 4}" x2="{MARGIN + 240}" y2="{y - 4}" stroke="#555555" stroke-width="2" '
        f'stroke-dasharray="6 4"/><text x="{MARGIN + 246}" y="{y}">retracted</text></g>'
    )


def _fit(label, limit=30):
    return label if len(label) <= limit else label[: limit - 1] + "…"
