"""What marketers, sales and integrators read: reports and their pure figures, the lead
list, trails, per-asset figures, and the Lead document of the API and webhooks."""
