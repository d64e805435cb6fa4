"""Domain errors. Logic raises these; `functions.api.errors` maps them to HTTP responses in one
place and the CLI maps them to exit codes, so neither layer knows about the other."""

from __future__ import annotations


class GenAiStackError(Exception):
    """Base class: `message` is safe to show to the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequestError(GenAiStackError):
    """The request is well-formed JSON but its content cannot be served."""


class NotFoundError(GenAiStackError):
    """A referenced record (a message id, a document) does not exist."""


class ForbiddenError(GenAiStackError):
    """The caller may not act for the user the request names."""


class ConflictError(GenAiStackError):
    """The request clashes with stored state (a duplicate or out-of-order write)."""


class KnowledgeBaseEmptyError(GenAiStackError):
    """Nothing has been ingested yet, so no question can be answered from documents."""


class DependencyUnavailableError(GenAiStackError):
    """A backing service (vector store, model, database) failed or timed out; retry later."""


class IngestError(GenAiStackError):
    """A document could not be read or indexed; the previous index stays in place."""


def record_changed(what: str) -> ConflictError:
    """The conflict of a racing write (two requests storing the same turn), worded alike by every
    store; `what` names the store."""
    return ConflictError(f"{what}: the record was changed by another request")
