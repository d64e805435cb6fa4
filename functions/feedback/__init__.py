"""Conversations, feedback, rephrase detection and escalation to a human."""
