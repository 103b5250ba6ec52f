"""Who handles what: agents, skills, categories and assignment."""
