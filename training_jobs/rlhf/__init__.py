"""RLHF: a reward model, policy optimization against it (GRPO or RLOO), and DPO."""
