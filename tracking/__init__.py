"""Who reads what and what it says about them: visitors, leads, events, journey, scoring."""
