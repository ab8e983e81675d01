"""Deals from the CRM: what leads and accounts became (open, won, lost), posted by an
integrator; they move the lead's lifecycle and close the loop for attribution."""
