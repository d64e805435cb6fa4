"""Abuse and threats: patterns for threats and insults aimed at a person, plus a classifier.

A customer may be angry and still be served: "this is the worst service, where is my refund?" is
a complaint, not abuse. The patterns therefore look for violence against people or property and
for insults addressed to someone ("you idiot"), not for swearing; the classifier (hashed n-grams,
trained on Davidson et al.'s labelled tweets, Banking77 questions and written complaints) carries
the rest, at an operating point chosen for few false alarms on complaints.
"""

from __future__ import annotations

import re
from pathlib import Path

from functions.guardrails.base import CheckContext, Finding, Span
from functions.guardrails.classifier import MODELS_DIR, HashedLogisticModel, load_model
from functions.guardrails.normalize import leet_view, normalize

TOXICITY_MODEL = MODELS_DIR / "toxicity.bin"

_INSULT = (
    r"(?:idiot|moron|imbecile|retard|stupid|dumb|dumbass|bitch|bastard|asshole|arsehole|jerk|loser|"
    r"piece of (?:shit|garbage|crap)|scum|clown|cretin|wanker|twat|cunt|dickhead|prick|"
    r"idiota|imbecil|estupido|gilipollas|cabron|pendejo|tonto|inutil|idiot|depp|trottel|arschloch|"
    r"vollidiot|blod\w{0,2}|dumm\w{0,2}|wichser|connard|connasse|abruti|debile|cretin|salaud|"
    r"enfoire|idiote|nul)"
)
THREAT = re.compile(
    r"\b(?:i(?:'ll| will| am going to|'m going to|m gonna| gonna)|we(?:'ll| will)) (?:\w+ ){0,2}"
    r"(?:kill|hurt|beat|stab|shoot|burn|bomb|attack|destroy|smash|punch|murder|find)\b"
    r"(?:(?! (?:the|my|this) (?:battery|order|parcel|deal))[^.!?\n]{0,40})?"
    r"|\b(?:watch your back|i know where (?:you|your \w{1,20}) (?:live|work|is|are)|you(?:'ll| will) "
    r"(?:regret|pay for) (?:this|it)|you(?:'re| are) (?:dead|going to die))\b"
    r"|\b(?:te|les|os) voy a (?:matar|pegar|romper|quemar)|\bvoy a (?:matar|quemar|romper la cara)"
    r"|\b(?:ich|wir) (?:bring\w{0,2}|schlag\w{0,2}|zund\w{0,2}|mach\w{0,2}) (?:dich|euch|es|sie) "
    r"(?:\w+ ){0,2}(?:um|kaputt|tot|an)\b|\bich weiss,? wo (?:du|ihr|euer|dein)\w{0,2}"
    r"|\bje vais (?:te |vous )?(?:tuer|buter|frapper|bruler|casser la gueule)\b|\bje sais ou (?:tu|vous)\b"
)
INSULT = re.compile(
    rf"\b(?:you|ur|u|du|tu|eres|t'es|vous etes|ihr seid|sie sind|you're|youre)\b(?: \w+){{0,3}} {_INSULT}\b"
    rf"|\b(?:fuck|f\*+k|f\*\*\*|screw|stfu|shut up) (?:you|off|u)\b|\bgo to hell\b"
    rf"|\bhalt die (?:klappe|fresse)\b"
    rf"|\bferme[- ]la\b|\bcallate\b|\bvete a la mierda\b|\bva te faire\b|\bfick dich\b"
)


class ToxicityDetector:
    """Finds threats and abuse aimed at people; the policy decides whether to block."""

    category = "toxicity"

    def __init__(self, model: HashedLogisticModel | None = None) -> None:
        self.model = model

    @classmethod
    def with_shipped_model(cls, path: Path = TOXICITY_MODEL) -> ToxicityDetector:
        return cls(load_model(path))

    def detect(self, text: str, context: CheckContext) -> Finding | None:
        normalized = normalize(text)
        readings = (normalized, leet_view(normalized))
        if any(THREAT.search(reading) for reading in readings):
            return Finding(self.category, 0.95, (Span(0, len(text), "THREAT"),), "threat")
        if any(INSULT.search(reading) for reading in readings):
            return Finding(self.category, 0.9, (Span(0, len(text), "INSULT"),), "insult")
        score = self.model.score([normalized]) if self.model is not None else 0.0
        if score < 0.2:
            return None
        return Finding(self.category, round(score, 3), (Span(0, len(text), "ABUSE"),), "classifier")
