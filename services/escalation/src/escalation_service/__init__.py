"""The escalation service: letters, visits, restructuring, legal action and agency placement."""
