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


def word_scores(searcher: Any, clauses: Sequence[Clause], memo: SegmentMemo) -> dict[int, float]:
    """Every document matching any clause (top-level document number) with its score.

    The score is what ``PreloadedOr(Term(field, text, boost=boost) …)`` gives it: per clause in
    order, ``bm25(…) * boost`` added to the document's sum.
    """
    scores: dict[int, float] = {}
    for subsearcher, offset in searcher.leaf_searchers():
        reader = subsearcher.reader()
        deleted = reader.deleted_docs_set
        segment: dict[int, float] = {}
        for field, text, boost in clauses:
            if (field, text) not in reader:
                continue
            _add_term(segment, searcher, reader, field, text, boost, memo, deleted)
        if offset:
            scores.update((docnum + offset, score) for docnum, score in segment.items())
        else:
            scores.update(segment)
    return scores


def _add_term(
    scores: dict[int, float],
    searcher: Any,
    reader: Any,
    field: str,
    text: str,
    boost: float,
    memo: SegmentMemo,
    deleted: frozenset[int],
) -> None:
    """Add one term's BM25F score times ``boost`` to each of its documents in one segment."""
    idf = searcher.idf(field, text)
    avgfl = searcher.avg_field_length(field) or 1
    k = K1 + 1
    # bm25(idf, tf, fl, avgfl, B, K1) with its length part looked up per length byte.
    norm = [K1 * ((1 - B) + B * byte_to_length(b) / avgfl) for b in range(256)]
    lengths = memo.lengths(reader, field)
    matcher = reader.postings(field, text)
    if isinstance(matcher, FilterMatcher):  # the segment has deleted documents
        matcher = matcher.child
    get = scores.get
    while matcher.is_active():
        matcher._read_data()
        ids, weights = matcher._data[0], matcher._data[1]
        count = matcher._blocklength
        docnums = list(accumulate(ids) if not matcher._byteids else ids)
        if weights is None or isinstance(weights, float):  # one weight for the whole block
            weights = array("f", [1.0 if weights is None else weights]) * count
        if deleted:
            kept = [(d, tf) for d, tf in zip(docnums, weights, strict=True) if d not in deleted]
            docnums, weights = [d for d, _ in kept], [tf for _, tf in kept]
        block = [
            (idf * ((tf * k) / (tf + norm[lengths[d]]))) * boost
            for d, tf in zip(docnums, weights, strict=True)
        ]
        if scores:
            for docnum, score in zip(docnums, block, strict=True):
                scores[docnum] = get(docnum, 0.0) + score
        else:
            scores.update(zip(docnums, block, strict=True))
        matcher._i = count - 1
        matcher.next()
