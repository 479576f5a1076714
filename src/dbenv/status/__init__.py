"""Where every environment points and what is there, read-only."""
