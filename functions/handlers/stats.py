"""Lambda function behind the API's statistics route (GET /v1/stats)."""

from functions.api.routes.stats import router
from functions.handlers.api_gateway import lambda_handler_for

handler = lambda_handler_for(router)
