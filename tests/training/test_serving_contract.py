"""Every model directory the jobs write can be served: loaded with the Auto classes (or peft's for
an adapter) and prompted through its own chat template, as the local-checkpoint chat model does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FINAL_MODELS = ["pretrained", "sft_model", "policy_grpo", "policy_rloo", "dpo_adapter"]


@pytest.fixture
def model_dir(request: pytest.FixtureRequest) -> Path:
    name: str = request.param
    if name.startswith("policy_"):
        policies: dict[str, Path] = request.getfixturevalue("policy_models")
        return policies[name.removeprefix("policy_")]
    directory: Path = request.getfixturevalue(name)
    return directory


@pytest.mark.parametrize("model_dir", FINAL_MODELS, indirect=True)
def test_a_final_model_answers_a_chat_message(model_dir: Path) -> None:
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    assert tokenizer.chat_template
    assert (model_dir / "generation_config.json").is_file()
    if (model_dir / "adapter_config.json").is_file():
        base = json.loads((model_dir / "adapter_config.json").read_text())["base_model_name_or_path"]
        assert Path(base).is_dir()
        model = AutoPeftModelForCausalLM.from_pretrained(model_dir)
    else:
        model = AutoModelForCausalLM.from_pretrained(model_dir)
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": "How do I return an item?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    assert tokenizer.decode(inputs["input_ids"][0]).endswith("<|im_start|>assistant\n")
    output = model.generate(**inputs, max_new_tokens=4, min_new_tokens=4, do_sample=False)
    assert output.shape[1] == inputs["input_ids"].shape[1] + 4
    assert GenerationConfig.from_pretrained(model_dir).eos_token_id


@pytest.mark.parametrize("model_dir", FINAL_MODELS, indirect=True)
def test_the_local_checkpoint_chat_model_serves_it(model_dir: Path) -> None:
    from langchain_core.messages import HumanMessage

    from functions.rag.chat_models.local_checkpoint import LocalCheckpointChatModel

    chat = LocalCheckpointChatModel(checkpoint_dir=model_dir, max_new_tokens=4)
    reply = chat.invoke([HumanMessage("How do I return an item?")])
    assert isinstance(reply.content, str)
    assert reply.usage_metadata is not None and 0 < reply.usage_metadata["output_tokens"] <= 4


def test_a_prompt_longer_than_the_context_window_is_cut_to_fit(pretrained: Path) -> None:
    from langchain_core.messages import HumanMessage
    from transformers import AutoConfig

    from functions.rag.chat_models.local_checkpoint import LocalCheckpointChatModel

    window = AutoConfig.from_pretrained(pretrained).max_position_embeddings
    chat = LocalCheckpointChatModel(checkpoint_dir=pretrained, max_new_tokens=4 * window)
    long_question = "Can I return my boots? " * window
    reply = chat.invoke([HumanMessage(long_question)])
    usage = reply.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] == window - window // 2  # the prompt's share of the window
    assert 0 < usage["output_tokens"] <= window // 2


def test_shortening_keeps_the_instructions_and_the_question() -> None:
    import torch

    from functions.rag.chat_models.local_checkpoint import keep_head_and_tail

    tokens = torch.arange(100).unsqueeze(0)
    assert keep_head_and_tail(tokens, 8).tolist() == [[0, 1, 2, 3, 4, 5, 98, 99]]
    assert keep_head_and_tail(tokens, 3).tolist() == [[0, 1, 2]]
