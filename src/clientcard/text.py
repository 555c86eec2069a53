"""Folding text for search and sorting: lower case, no accents, single spaces."""

from __future__ import annotations

import re
import unicodedata

# Letters that Unicode does not decompose into a base letter plus an accent.
_EXTRA_FOLDS = str.maketrans({"ł": "l", "đ": "d", "ø": "o", "ß": "ss", "æ": "ae", "œ": "oe"})
_NON_WORD = re.compile(r"[^\w@.+-]+")


def fold(text: str | None) -> str:
    if not text:
        return ""
    if text.isascii():  # nothing to decompose or translate: the same result, sooner
        return " ".join(_NON_WORD.sub(" ", text.lower()).split())
    text = unicodedata.normalize("NFKD", text.casefold().translate(_EXTRA_FOLDS))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", text).split())


def words(text: str | None) -> list[str]:
    """The search words of a text: folded, split on anything that is not a letter or digit."""
    return [w for w in re.split(r"[^\w]+", fold(text)) if w]
