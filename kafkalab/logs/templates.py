"""Message templates: the same log line with its variable parts masked.

``"payment 8812 for ORD-20931 failed after 3012 ms"`` and ``"payment 17 for
ORD-1 failed after 95 ms"`` are the same *kind* of line. Replacing ids, numbers,
addresses and quoted values by placeholders gives both one template, so we can
count lines by kind, show the top messages and notice a kind never seen before.

The order of the masks matters: a UUID contains digits, so it must be masked
as ``<uuid>`` before the number mask turns its digits into ``<num>``.

Every log line goes through this, so it is on the aggregator's hot path: eight
regex substitutions cost about 7 µs a line, most of it scanning for masks that
cannot match (a line without ``@`` holds no e-mail address). Each default mask
therefore has a cheap test of text it cannot match without (:data:`_NEEDS`),
and is skipped when the line lacks it. And no default mask matches across
whitespace except the quoted string, so a line without quotes is masked word
by word, and each word's template is remembered: ``in``, ``ms`` and ``200``
recur in line after line. Both give the same templates as all eight masks on
the whole line (a test compares them).

>>> template("payment 8812 for ORD-20931 failed after 3012 ms")
'payment <num> for <id> failed after <num> ms'
>>> template("user 3f2a9c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b from 10.0.0.12 logged in")
'user <uuid> from <ip> logged in'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

__all__ = ["DEFAULT_MASKS", "Mask", "Templater", "template"]

Mask = tuple[str, re.Pattern[str]]

#: ``(placeholder, pattern)`` pairs, applied in this order.
DEFAULT_MASKS: tuple[Mask, ...] = (
    ("<uuid>", re.compile(
        r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")),
    ("<email>", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("<url>", re.compile(r"\bhttps?://\S+")),
    ("<ip>", re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b")),
    # Business ids as the course writes them: ORD-20931, CUST-001, ITEM-001, pay_8f3a.
    ("<id>", re.compile(r"\b[A-Za-z]{2,10}[-_](?=[0-9A-Za-z]*\d)[0-9A-Za-z]+\b")),
    # Long hex strings (hashes, trace ids) with at least one digit.
    ("<hex>", re.compile(r"\b(?:0x)?(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b")),
    ("<str>", re.compile(r"'[^']*'|\"[^\"]*\"")),
    # Numbers, alone or glued to a unit (12ms, 3.5s, 512MB): keep the unit.
    ("<num>", re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?=[a-zA-Z%]*\b)")),
)


_DIGIT = re.compile(r"\d")  # what \d matches (Unicode digits too), as the masks mean it
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")  # the run of hex digits a <hex> mask needs


def _has_digit(text: str) -> bool:
    return _DIGIT.search(text) is not None


# Text each default mask cannot match without: its literal characters, and a
# digit where the pattern demands one. A test only skips a substitution that
# would have found nothing, so the template is the same with or without it (a
# test checks). Placeholders only ever remove such characters, so testing the
# partly masked line is as good as testing the original.
_NEEDS: dict[str, Callable[[str], bool]] = {
    "<uuid>": lambda m: m.count("-") >= 4,
    "<email>": lambda m: "@" in m,
    "<url>": lambda m: "://" in m,
    "<ip>": lambda m: m.count(".") >= 3 and _has_digit(m),
    "<id>": lambda m: ("-" in m or "_" in m) and _has_digit(m),
    "<hex>": lambda m: _HEX8.search(m) is not None,
    "<str>": lambda m: "'" in m or '"' in m,
    "<num>": _has_digit,
}


#: How many words' templates a :class:`Templater` remembers before it starts afresh,
#: and the longest word it remembers (so the memory stays a few megabytes at most).
_MAX_WORDS = 20_000
_LONGEST_WORD = 100


class Templater:
    """Mask variable parts of messages with a list of ``(placeholder, regex)``.

    Parameters
    ----------
    masks
        Applied in order; defaults to :data:`DEFAULT_MASKS`.
    extra
        More masks, applied *before* the defaults (so a specific id pattern
        wins over the generic number mask).

    Examples
    --------
    >>> t = Templater(extra=[("<sku>", r"\\bSKU\\d+\\b")])
    >>> t("reserved SKU123 x 4")
    'reserved <sku> x <num>'
    """

    def __init__(self, masks: Iterable[tuple[str, str | re.Pattern[str]]] | None = None,
                 extra: Iterable[tuple[str, str | re.Pattern[str]]] = ()) -> None:
        base = DEFAULT_MASKS if masks is None else masks
        self.masks: tuple[Mask, ...] = tuple((name, re.compile(rx) if isinstance(rx, str) else rx)
                                             for name, rx in [*extra, *base])
        # (placeholder, substitute, test or None): a default mask is skipped
        # when the line cannot hold it; other masks always run.
        defaults = dict(DEFAULT_MASKS)
        self._steps = tuple((name, rx.sub, _NEEDS[name] if defaults.get(name) is rx else None)
                            for name, rx in self.masks)
        # Word by word only with exactly the default masks: no match of theirs
        # but <str>'s holds whitespace, and \b, (?<!...) and (?=...) see a
        # space at a word's edge as they see the start or end of the text.
        # Masks of one's own may not be like that.
        self._by_word = self.masks == DEFAULT_MASKS
        self._words: dict[str, str] = {}  # word -> its template, up to _MAX_WORDS of them

    def __call__(self, message: str) -> str:
        if self._by_word and "'" not in message and '"' not in message:
            # Splitting first also collapses runs of whitespace, as below.
            get = self._words.get
            return " ".join([get(word) or self._word(word) for word in message.split()])
        # Collapse runs of whitespace so "a  b" and "a b" share a template.
        return " ".join(self._mask(message).split())

    def _mask(self, text: str) -> str:
        for placeholder, sub, needs in self._steps:
            if needs is None or needs(text):
                text = sub(placeholder, text)
        return text

    def _word(self, word: str) -> str:
        masked = self._mask(word)
        if len(word) <= _LONGEST_WORD:  # a long blob (base64, a stack frame) rarely comes back
            if len(self._words) >= _MAX_WORDS:
                self._words.clear()  # ids and numbers keep coming; forget them all, keep it simple
            self._words[word] = masked
        return masked


_DEFAULT = Templater()


def template(message: str) -> str:
    """The template of ``message`` with the default masks.

    >>> template("timeout after 5000ms calling inventory at http://inv:8080/stock")
    'timeout after <num>ms calling inventory at <url>'
    >>> template("OutOfMemoryError: Java heap space")
    'OutOfMemoryError: Java heap space'
    """
    return _DEFAULT(message)
