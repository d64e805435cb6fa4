"""Tiny artefacts shared by the training tests: an export fixture, the data sets built from it,
and the model chain pretrain -> finetune -> reward -> policy / dpo, each trained once per session.

Every model is tiny (a two-layer Llama built from a config, a tokenizer trained on the spot) and
runs on one CPU thread, so the whole chain takes seconds; nothing is downloaded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.contract import InteractionRecord
from training_jobs.common.jsonl import write_jsonl

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

EMAIL = "jane.doe@example.com"
PHONE = "+1 415 555 0132"

#: (question, good answer, bad answer) for topics that only give the models something to learn.
TOPICS = (
    ("When will my order arrive?", "Standard shipping takes 3 to 5 business days.", "Soon."),
    ("How do I reset my password?", "Use 'Forgot password' on the sign-in page.", "Make a new account."),
    ("Can I change my delivery address?", "Yes, from Orders until the parcel ships.", "No."),
    ("How do I cancel my order?", "Open the order and choose Cancel before it is packed.", "You cannot."),
    ("Do you ship internationally?", "We ship to 40 countries; duties show at checkout.", "Domestic only."),
    ("How do I use a gift card?", "Enter the code in the payment step at checkout.", "In store only."),
)


def record(conversation: str, turn: int, question: str, answer: str, **feedback: Any) -> InteractionRecord:
    """One exported interaction with no feedback unless given."""
    values: dict[str, Any] = {
        "message_id": f"{conversation}-{turn}",
        "conversation_id": conversation,
        "user_id": None,
        "turn": turn,
        "question": question,
        "answer": answer,
        "sources": [],
        "grounded": True,
        "created_at": "2026-11-28T10:00:00Z",
        "rating": None,
        "reason": None,
        "comment": None,
        "escalated": False,
        "rephrased": False,
        "human_answer": None,
    }
    values.update(feedback)
    return values  # type: ignore[return-value]


RETURN_ANSWER = "Start a return from Orders within 30 days; we email you a prepaid label."


def export_records() -> list[InteractionRecord]:
    """Every rule of the builders, each on records whose expected outcome the tests spell out."""
    records = [
        record("return-1", 0, "How do I return an item?", RETURN_ANSWER, rating="up"),
        record("return-2", 0, "How do I return an item?", RETURN_ANSWER, rating="up"),  # exact duplicate
        record("return-3", 0, "How do I return an item ?", RETURN_ANSWER + " Thanks!", rating="up"),  # near
        record(
            "pii",
            0,
            f"My email is {EMAIL}, where is my order?",
            "It ships at some point.",
            rating="down",
            escalated=True,
            human_answer=f"It ships tomorrow; we sent the tracking link to {EMAIL}. Questions? Call {PHONE}.",
        ),
        record("paypal", 0, "Can I pay with PayPal?", "We only accept cash.", rephrased=True),
        record(
            "paypal",
            1,
            "Do you take PayPal as a payment method?",
            "Yes, PayPal works at checkout.",
            rating="up",
        ),
        record("unrated", 0, "What are your opening hours?", "We are open 9 to 5."),  # no signal: unused
        record(
            "lonely", 0, "Do you sell bicycles?", "Bicycles are aisle 9.", rating="down"
        ),  # no good answer
        record("empty", 0, "   ", "An answer to nothing.", rating="up"),  # no question: dropped
    ]
    for number, (question, good, bad) in enumerate(TOPICS):
        records += [
            record(f"topic-{number}", 0, question, good, rating="up"),
            record(f"topic-{number}-b", 0, question, bad, rating="down", escalated=True),
        ]
    return records


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread, and the machine is shared; later suites get theirs back."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session", autouse=True)
def _outside_sagemaker() -> Iterator[None]:
    """No SageMaker variables leak in from the environment."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("SM_")]:
            patch.delenv(name)
        yield


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("training")


@pytest.fixture(scope="session")
def export_file(workspace: Path) -> Path:
    path = workspace / "export" / "interactions.jsonl"
    write_jsonl(path, export_records())
    return path


@pytest.fixture(scope="session")
def datasets_dir(workspace: Path, export_file: Path) -> Path:
    from training_jobs.data.build import DataArguments, main

    directory = workspace / "data"
    main(DataArguments(export_path=str(export_file), output_dir=str(directory), eval_fraction=0.25))
    return directory


def run_cli(*argv: str) -> None:
    """Run `genai-stack train ...` in-process and insist on success."""
    from training_jobs.cli import main

    assert main(list(argv)) == 0, f"genai-stack train {' '.join(argv)} failed"


def metrics_of(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "metrics.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def pretrained(workspace: Path, datasets_dir: Path) -> Path:
    directory = workspace / "models" / "pretrain"
    run_cli("pretrain", "--tiny", "--data_dir", str(datasets_dir / "corpus"), "--output-dir", str(directory))
    return directory


@pytest.fixture(scope="session")
def sft_model(workspace: Path, datasets_dir: Path, pretrained: Path) -> Path:
    """LoRA, merged into the base."""
    directory = workspace / "models" / "finetune"
    run_cli(
        "finetune",
        "--tiny",
        "--model_name_or_path",
        str(pretrained),
        "--data_dir",
        str(datasets_dir / "sft"),
        "--output-dir",
        str(directory),
    )
    return directory


@pytest.fixture(scope="session")
def reward_model(workspace: Path, datasets_dir: Path, sft_model: Path) -> Path:
    directory = workspace / "models" / "reward"
    run_cli(
        "reward",
        "--tiny",
        "--model_name_or_path",
        str(sft_model),
        "--data_dir",
        str(datasets_dir / "preference"),
        "--output-dir",
        str(directory),
    )
    return directory


@pytest.fixture(scope="session")
def policy_models(
    workspace: Path, datasets_dir: Path, sft_model: Path, reward_model: Path
) -> dict[str, Path]:
    """One policy per algorithm, both from the SFT model against the reward model."""
    directories = {}
    for algorithm in ("grpo", "rloo"):
        directory = workspace / "models" / f"policy-{algorithm}"
        run_cli(
            "policy",
            "--tiny",
            "--algorithm",
            algorithm,
            "--model_name_or_path",
            str(sft_model),
            "--reward_model_name_or_path",
            str(reward_model),
            "--data_dir",
            str(datasets_dir / "preference"),
            "--output-dir",
            str(directory),
        )
        directories[algorithm] = directory
    return directories


@pytest.fixture(scope="session")
def dpo_adapter(workspace: Path, datasets_dir: Path, sft_model: Path) -> Path:
    """DPO with a LoRA adapter saved on its own (not merged)."""
    directory = workspace / "models" / "dpo"
    run_cli(
        "dpo",
        "--tiny",
        "--use_peft",
        "--no_merge_adapter",
        "--model_name_or_path",
        str(sft_model),
        "--data_dir",
        str(datasets_dir / "preference"),
        "--output-dir",
        str(directory),
    )
    return directory
