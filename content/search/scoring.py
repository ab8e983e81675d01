"""How much each asset scores for a query word: Whoosh's BM25F, read a block of postings at a time.

Whoosh's own collector scores one posting at a time through several layers of
matcher objects; a library where a common word matches most assets pays
that for every match. Here the same figures come from the same postings,
block by block: the numbers (idf, average field length, each field's length
per document, the boost) are Whoosh's own and the float operations happen in
the same order, so every score is bit for bit the one the collector computes
(``tests/content/test_search_scoring.py`` holds the two side by side).

What does not change while a segment lives (its field lengths, the asset id
of each document) is read once per segment and kept in a ``SegmentMemo``.
"""

from __future__ import annotations

import struct
import threading
from array import array
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.scoring import BM25F
from whoosh.util.numeric import byte_to_length

ASSET_COLUMN = "asset_number"
"""The column that holds each document's asset id as a number (read for all documents at once)."""

_BM25F = BM25F()
K1, B = _BM25F.K1, _BM25F.B

Clause = tuple[str, str, float]
"""One term of a query word: (field, indexed text, boost)."""


class SegmentMemo:
    """Per segment (segments never change once written): field lengths and asset ids by document.

    Shared by every thread that searches the index; entries of segments that left the index
    are dropped when a newer generation is seen.
    """

    def __init__(self) -> None:
        self._values: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def lengths(self, reader: Any, field: str) -> bytes:
        """The encoded length (one byte, 0 when absent) of ``field`` in each document."""
        key = (_segment_id(reader), field)
        found = self._values.get(key)
        if found is None:
            column = reader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
            found = _column_bytes(column, reader.doc_count_all(), "B")
            self._values[key] = found
        return found

    def asset_ids(self, reader: Any) -> tuple[int, ...]:
        """The asset id of each document of the segment (0 for none)."""
        if not reader.doc_count_all():
            return ()
        key = (_segment_id(reader), ASSET_COLUMN)
        found = self._values.get(key)
        if found is None:
            column = reader.column_reader(ASSET_COLUMN, translate=False)
            found = struct.unpack(
                f"!{reader.doc_count_all()}q", _column_bytes(column, reader.doc_count_all(), "q")
            )
            self._values[key] = found
        return found

    def keep_only(self, searcher: Any) -> None:
        """Forget segments that are no longer part of the index ``searcher`` reads."""
        keep = {_segment_id(leaf.reader()) for leaf, _ in searcher.leaf_searchers()}
        with self._lock:
            for key in [k for k in self._values if k[0] not in keep]:
                self._values.pop(key, None)


def _segment_id(reader: Any) -> str:
    segment = reader.segment()
    return "" if segment is None else str(segment.segment_id())  # "": an empty index


def _column_bytes(column: Any, doccount: int, typecode: str) -> bytes:
    """A numeric column's values as raw big-endian bytes for all ``doccount`` documents."""
    size = struct.calcsize(typecode)
    if column is None or not hasattr(column, "_count"):  # no such column in this segment
        return bytes(size * doccount)
    stored = column._count  # documents after the last stored value take the default (0)
    raw = column._dbfile.get(column._basepos, stored * size)
    return bytes(raw) + bytes(size * (doccount - stored))


def word_scores(
    searcher: Any, clauses: Sequence[Clause], memo: SegmentMemo, size: int
) -> list[float]:
    """Each document's score for one word, by top-level document number (``size`` of them;
    0.0 where the word is not found: every score found is above 0, idf and tf being).

    The score is what ``PreloadedOr(Term(field, text, boost=boost) …)`` gives it: per clause in
    order, ``bm25(…) * boost`` added to the document's sum (from 0.0: ``0.0 + x == x``).
    """
    scores = [0.0] * size
    norms = {field: _norms(searcher, field) for field, _, _ in clauses}
    for subsearcher, offset in searcher.leaf_searchers():
        reader = subsearcher.reader()
        segment = [0.0] * reader.doc_count_all()
        for field, text, boost in clauses:
            try:
                matcher = _postings(reader, field, text)
            except TermNotFound:  # not in this segment
                continue
            lengths = memo.lengths(reader, field)
            _add_term(segment, matcher, lengths, norms[field], searcher.idf(field, text), boost)
        for docnum in reader.deleted_docs_set:  # scored above with the rest, found by none
            segment[docnum] = 0.0
        scores[offset : offset + len(segment)] = segment
    return scores


def _postings(reader: Any, field: str, text: str) -> Any:
    """A term's postings in one segment, deleted documents included.

    ``reader.postings`` would wrap them in a filter for the deleted ones, which decodes the
    first block's document numbers one at a time up front (a thousand for a common word).
    """
    terms = getattr(reader, "_terms", None)
    if terms is None:  # not a segment (an empty index)
        return reader.postings(field, text)
    encoded = reader._text_to_bytes(field, text)
    return terms.matcher(field, encoded, reader.schema[field].format)


def _norms(searcher: Any, field: str) -> list[float]:
    """The length part of ``bm25(idf, tf, fl, avgfl, B, K1)`` for each length byte of ``fl``."""
    avgfl = searcher.avg_field_length(field) or 1
    return [K1 * ((1 - B) + B * byte_to_length(b) / avgfl) for b in range(256)]


def _add_term(
    scores: list[float],
    matcher: Any,
    lengths: bytes,
    norm: list[float],
    idf: float,
    boost: float,
) -> None:
    """Add one term's BM25F score times its boost to each of its documents in one segment
    (``matcher``: its postings there; ``lengths``: the field's length byte per document)."""
    k = K1 + 1
    if isinstance(matcher, FilterMatcher):  # deleted documents: zeroed by the caller
        matcher = matcher.child
    while matcher.is_active():
        matcher._read_data()
        ids, weights = matcher._data[0], matcher._data[1]
        count = matcher._blocklength
        docnums = list(accumulate(ids) if not matcher._byteids else ids)
        if weights is None or isinstance(weights, float):  # one weight for the whole block
            weights = array("f", [1.0 if weights is None else weights]) * count
        for d, tf in zip(docnums, weights, strict=True):
            scores[d] += (idf * ((tf * k) / (tf + norm[lengths[d]]))) * boost
        matcher._i = count - 1
        matcher.next()
