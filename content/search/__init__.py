"""Full-text search over live assets: a Whoosh index in a folder, behind a narrow interface.

The index is a derived cache (``content.indexer`` keeps it in step with the
database). Only this package knows Whoosh: callers hand in ``SearchDocument``
values and get ``SearchResults`` back, so another engine could replace it.

- ``schema``: the index's fields and analysers, and how a ``SearchDocument`` fills them;
- ``index``: ``SearchIndex``, the folder with its single-writer lock and change-log position;
- ``query``: what a visitor's words find, in what order, with which snippet;
- ``scoring``: each word's BM25F scores read from the postings a block at a time.
"""
