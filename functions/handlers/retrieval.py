"""Lambda function behind the API's retrieval route."""

from functions.api.routes.retrieval import router
from functions.handlers.api_gateway import lambda_handler_for

handler = lambda_handler_for(router)
