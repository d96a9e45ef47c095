"""A document's text cut into passages, each quoted passage tied to the attribution that quotes it (pure)."""


def marked_passages(text, attributions):
    """[(passage, attribution or None)] covering `text` in order; overlapping quotes keep the earlier one."""
    spans = sorted((
        (start, start + len(a["quote"]), a)
        for a in attributions
        if a["quote"] and (start := text.find(a["quote"])) >= 0
    ), key=lambda span: (span[0], span[1], span[2]["id"])) if text else []
    passages, position = [], 0
    for start, end, attribution in spans:
        if start < position:
            continue  # overlaps a passage already marked; its attribution is still listed below the text
        if start > position:
            passages.append((text[position:start], None))
        passages.append((text[start:end], attribution))
        position = end
    if position < len(text):
        passages.append((text[position:], None))
    return passages
