"""The tracking pipeline: typed beacon input, group-committed ingest, roll-ups, lead state
and the lead change log, and raw-event retention (DESIGN.md, "Tracking pipeline")."""
