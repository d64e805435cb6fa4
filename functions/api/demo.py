"""The local server's demo store page: the chat widget's bundle, a help-centre page that embeds
it with its one script tag, and the sample knowledge base's documents for the sources' links.

Local only (`genai-stack serve`): in AWS the bundle is served from S3 through CloudFront."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from functions.errors import NotFoundError

_ROOT = Path(__file__).resolve().parents[2]
WIDGET_BUNDLE = _ROOT / "widget" / "dist" / "widget.js"
DEMO_PAGE = _ROOT / "widget" / "demo" / "index.html"
KNOWLEDGE_BASES = _ROOT / "data"


def demo_available() -> bool:
    """Whether this checkout has the built widget (`npm run build` in widget/)."""
    return WIDGET_BUNDLE.is_file() and DEMO_PAGE.is_file()


def demo_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def demo_page() -> HTMLResponse:
        return HTMLResponse(DEMO_PAGE.read_text(encoding="utf-8"))

    @router.get("/widget.js")
    def widget_bundle() -> FileResponse:
        return FileResponse(
            WIDGET_BUNDLE, media_type="text/javascript", headers={"Cache-Control": "no-cache"}
        )

    @router.get("/kb/{path:path}")
    def knowledge_base_document(path: str) -> FileResponse:
        document = (KNOWLEDGE_BASES / path).resolve()
        if not document.is_relative_to(KNOWLEDGE_BASES) or not document.is_file():
            raise NotFoundError(f"no document {path!r} in the demo knowledge base")
        return FileResponse(document, media_type="text/plain; charset=utf-8")

    return router
