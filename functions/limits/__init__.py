"""Per-client request limits: a fixed-window counter per client behind a small port.

The HTTP API has no usage plans (those are REST API only), so the query route counts each
signed-in user's questions itself: DynamoDB in AWS (one atomic counter per user per window, with a
TTL), an in-process counter locally. AWS WAF limits requests per IP in front of the API.
"""
