"""Identity: visitors (browsers), how one becomes a lead, profile facts, consent, unlocks,
stitching devices together, merging and erasing leads, and the forms that identify."""
