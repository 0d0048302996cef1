"""An image's label: the name of the folder it is in, in Unicode NFC.

macOS writes file names decomposed (NFD: "e" + combining accent), phones and Linux composed
(NFC: "é"): without normalizing, Clémentine uploaded from both would be two classes.
"""

from __future__ import annotations

import unicodedata


def label_of(path: str) -> str:
    return unicodedata.normalize("NFC", path.split("/")[-2])
