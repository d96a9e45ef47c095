"""Words: one tokenizer decides both what a claim's text is indexed under and what `q` asks for.

A word is a run of letters and digits after Unicode NFKC normalisation and case
folding, so "Café", "CAFE\u0301" and "café" are one word, "zqx_wvy" is two, and
"kcna.kp" is two on every database. The words of each claim's text are kept as
WordSpan rows, one a text, in the form word_list gives, which `q` reads alike on
SQLite and PostgreSQL: the same words find the same claims on every path and database.
"""

import re
import unicodedata

# Longer runs are cut, on both sides alike, so an index row always fits.
MAX_WORD_LENGTH = 100
WORD = re.compile(r"[^\W_]+")


def fold(text):
    """Text as the tokenizer compares it: NFKC, case-folded, NFKC again (folding can denormalise)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def words_of(text):
    """The distinct words of a text, as both the index and `q` see them."""
    return {word[:MAX_WORD_LENGTH] for word in WORD.findall(fold(text))}


def subject_term(subject):
    """A subject as the `subject` filter compares it: exactly, but case-insensitively."""
    return fold(subject)


def word_list(words):
    """Words as a WordSpan keeps them: sorted, each between single spaces, so that " word " is found in it exactly
    when the word is one of them (a word holds no space)."""
    return " " + " ".join(sorted(words)) + " "


def word_needle(word):
    """What a word is looked for as in a word_list."""
    return f" {word} "
