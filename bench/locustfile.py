"""Locust users for `bench.load`: ask the labelled questions and rate the answers they got.

Each user asks three questions for every rating it sends; a rating goes to a message this user was
answered and has not rated yet, so every accepted rating must add exactly one row to the feedback
table (and every escalation one row to the escalations table), which `bench.load` then counts.
`BENCH_QUESTIONS` names the JSONL file of questions, `BENCH_SUMMARY` the JSON file the final
figures go to; `bench` must be importable (PYTHONPATH).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from locust import HttpUser, constant, events, task
from locust.env import Environment

from bench.load import ESCALATION, FEEDBACK, QUERY

QUESTIONS = [
    json.loads(line)["question"]
    for line in Path(os.environ["BENCH_QUESTIONS"]).read_text(encoding="utf-8").splitlines()
    if line.strip()
]
ESCALATE_SHARE = 0.1


class SupportUser(HttpUser):
    wait_time = constant(0)  # closed loop without think time: the server's capacity

    def on_start(self) -> None:
        self.unrated: list[str] = []

    @task(3)
    def ask(self) -> None:
        response = self.client.post("/v1/query", json={"question": random.choice(QUESTIONS)}, name=QUERY)
        if response.status_code == 200:
            self.unrated.append(response.json()["message_id"])

    @task(1)
    def rate(self) -> None:
        if not self.unrated:
            return
        escalate = random.random() < ESCALATE_SHARE
        body = {
            "message_id": self.unrated.pop(),
            "rating": random.choice(["up", "down"]),
            "escalate": escalate,
        }
        self.client.post("/v1/feedback", json=body, name=ESCALATION if escalate else FEEDBACK)


@events.test_stop.add_listener
def write_summary(environment: Environment, **_kwargs: object) -> None:
    """Locust's own final figures per request name, once every user has finished its last request
    (its CSV files are written once a second and miss the requests finished while stopping)."""
    entries = {entry.name: entry for entry in environment.stats.entries.values()}
    entries["Aggregated"] = environment.stats.total
    summary = {
        name: {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "rps": entry.total_rps,
            "p50_ms": entry.get_response_time_percentile(0.5),
            "p99_ms": entry.get_response_time_percentile(0.99),
        }
        for name, entry in entries.items()
    }
    Path(os.environ["BENCH_SUMMARY"]).write_text(json.dumps(summary, indent=2), encoding="utf-8")
