"""Input and output guardrails: detectors behind one interface, combined by a policy."""
