"""What acts on tracking: recommendations, handoff, outbox and webhooks."""
