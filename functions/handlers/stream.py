"""The streaming function's app: POST /v1/query/stream, served by uvicorn behind the Lambda Web
Adapter (see infra/widget.py); `/health` is the adapter's readiness check."""

from functions.api.app import create_app
from functions.api.routes.stream import router

app = create_app([router], flush_metrics_per_request=True)
