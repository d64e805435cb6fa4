"""One router per route group; a Lambda function mounts only its own."""
