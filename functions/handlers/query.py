"""Lambda function behind the API's query route."""

from functions.api.routes.query import router
from functions.handlers.api_gateway import lambda_handler_for

handler = lambda_handler_for(router)
