"""Intent tagging: what each customer message is about, and the few intents that change the answer."""
