"""HTTP route handlers: thin controllers that call services and pick a response."""
