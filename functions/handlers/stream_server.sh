#!/bin/sh
# The streaming function's entry point: the Lambda Web Adapter (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap)
# starts this script and forwards each invocation to uvicorn as HTTP, streaming the response back.
exec python -m uvicorn functions.handlers.stream:app --host 127.0.0.1 --port "${AWS_LWA_PORT:-8080}" --no-access-log
