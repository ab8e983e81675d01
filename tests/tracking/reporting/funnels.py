"""The lifecycle funnel by its definition, in plain Python: the steps, random lifecycle paths,
and how many leads reached each step (and converted from the one before). The report rules
and the database's figures are both checked against it."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

LIFECYCLE = ("mql", "sql", "opportunity", "customer")

HISTORIES = st.lists(
    st.lists(st.sampled_from([*LIFECYCLE, "recycled"]), min_size=1, max_size=8), max_size=12
)
"""Leads' lifecycle paths: each a list of the steps it arrived at, in order."""


def reach_of(
    steps: Sequence[str], histories: Sequence[Sequence[str]]
) -> dict[str, tuple[int, int]]:
    """(leads that reached it, of them those that reached it after the step before) per step,
    straight from the definition: a lead converted from X to Y when one of its arrivals at X
    comes before one of its arrivals at Y. The database computes the same (test_figures_agree)."""
    found = {}
    for index, step in enumerate(steps):
        reached = [h for h in histories if step in h]
        before = steps[index - 1] if index else None
        converted = [
            h
            for h in reached
            if before is None or any(h[i] == before and step in h[i + 1 :] for i in range(len(h)))
        ]
        found[step] = (len(reached), len(converted))
    return found
