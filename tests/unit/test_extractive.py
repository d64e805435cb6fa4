from langchain_core.messages import HumanMessage

from functions.rag.chat_models.extractive import ExtractiveChatModel
from functions.rag.documents import Chunk, ScoredChunk
from functions.rag.prompts import PromptLibrary, format_sources, parse_prompt
from functions.rag.replies import parse_reply


def hit(text: str, title: str = "Returns", source: str = "kb/returns.md") -> ScoredChunk:
    return ScoredChunk(Chunk("id-" + text[:8], text, source, title), score=1.0, relevance=0.8)


RETURNS = hit(
    "## Return window\n\nYou can return unworn items within 45 days of delivery. "
    "Summit members get 60 days. Refunds go to the original payment method."
)
SHIPPING = hit(
    "| Region | Standard | Express |\n|---|---|---|\n| US | $5.95 | $14.95 |\n| EU | €4.95 | €12.95 |",
    title='Shipping "prices"',
    source="kb/shipping.md",
)


def ask(question: str, *hits: ScoredChunk) -> str:
    messages = PromptLibrary().messages("zero-shot", list(hits), question)
    return parse_reply(ExtractiveChatModel(max_sentences=2).invoke(messages).text).answer


def test_prompt_round_trips_sources_and_question() -> None:
    messages = PromptLibrary().messages("zero-shot", [RETURNS, SHIPPING], "Q?")
    sources, question = parse_prompt(messages[-1].text)
    assert question == "Q?"
    assert [(s.number, s.title) for s in sources] == [(1, "Returns"), (2, 'Shipping "prices"')]
    assert sources[1].text == SHIPPING.chunk.text


def test_answers_with_the_best_supporting_sentence_and_cites_it() -> None:
    answer = ask("How many days do Summit members get?", RETURNS, SHIPPING)
    assert answer == "Summit members get 60 days. [1]"


def test_how_long_asks_for_a_duration_not_for_the_word_long() -> None:
    refund_timing = hit(
        "How long the money takes to reach you depends on how you paid. "
        "Refunds are issued within 3 business days.",
        source="kb/refunds.md",
    )
    answer = ask("How long do I have to return an item?", refund_timing, RETURNS)
    assert answer.startswith("You can return unworn items within 45 days of delivery.")


def test_a_sentence_with_the_kind_of_answer_asked_for_wins() -> None:
    def best_sentence(question: str, text: str) -> str:
        messages = PromptLibrary().messages("zero-shot", [hit(text)], question)
        return parse_reply(ExtractiveChatModel(max_sentences=1).invoke(messages).text).answer

    # Each pair shares the same question terms; only the kind of answer tells them apart.
    returns = "Worn items may be sent back to you at your cost. Most items can be sent back within 45 days."
    assert best_sentence("How long do I have to send a jacket back?", returns) == (
        "Most items can be sent back within 45 days. [1]"
    )
    credit = "You can choose store credit when you start the return. Store credit comes with a 10% bonus."
    assert best_sentence("How much extra do I get with store credit?", credit) == (
        "Store credit comes with a 10% bonus. [1]"
    )


def test_reads_table_rows_with_their_column_names() -> None:
    answer = ask("How much is express shipping to the EU?", SHIPPING, RETURNS)
    assert "Region: EU; Standard: €4.95; Express: €12.95. [1]" in answer


def test_the_answer_comes_from_one_section_not_a_mix_of_sources() -> None:
    answer = ask(
        "What does express shipping cost in the US, and how long do returns take?", RETURNS, SHIPPING
    )
    assert answer.startswith("Region: US; Standard: $5.95; Express: $14.95.")
    assert answer.endswith("[2]") and "[1]" not in answer


def test_the_answering_sentence_leads_then_its_section_in_reading_order() -> None:
    policy = hit(
        "## Return window\n\nReturns are inspected within 3 business days of delivery to us. "
        "You have 45 days from delivery to return an item. Tags must still be attached.\n\n"
        "## Refunds\n\nRefunds to a return window card take 5 days."
    )
    answer = (
        ExtractiveChatModel(max_sentences=3)
        .reply(
            "How many days from delivery do I have to return an item?",
            parse_prompt(format_sources([policy]))[0],
        )
        .answer
    )
    assert answer == (
        "You have 45 days from delivery to return an item. "
        "Returns are inspected within 3 business days of delivery to us. [1]"
    )


def test_a_list_item_keeps_its_heading() -> None:
    steps = hit(
        "## Forgotten password\n\n1. Click **Sign in**.\n2. Open the reset link we email you. "
        "The link is valid for 30 minutes.",
        title="Account",
        source="kb/account.md",
    )
    answer = ask("How long is the reset link valid?", steps)
    assert answer.startswith("Forgotten password: The link is valid for 30 minutes. Open the reset link")


def test_without_shared_words_falls_back_to_the_top_source_opening() -> None:
    answer = ask("Is it too late for my parcel to go back?", RETURNS)
    assert answer.startswith("You can return unworn items within 45 days of delivery.")


def test_without_sources_says_the_sources_do_not_answer() -> None:
    reply = parse_reply(
        ExtractiveChatModel().invoke(PromptLibrary().messages("zero-shot", [], "Anything?")).text
    )
    assert reply.answerable is False and reply.answer == "" and reply.citations == []


def test_the_reply_is_structured_with_the_cited_sources_and_a_confidence() -> None:
    messages = PromptLibrary().messages(
        "zero-shot", [SHIPPING, RETURNS], "How many days do Summit members get?"
    )
    reply = parse_reply(ExtractiveChatModel().invoke(messages).text)
    assert reply.answerable is True and reply.answer.startswith("Summit members get 60 days.")
    assert reply.citations == [2] and 0.0 < reply.confidence <= 1.0


def test_every_prompt_variant_is_answered_from_the_last_message() -> None:
    from tests.fakes import HashingEmbedder

    library = PromptLibrary(HashingEmbedder())
    answers = {
        variant: parse_reply(
            ExtractiveChatModel()
            .invoke(library.messages(variant, [RETURNS], "How many days do Summit members get?"))
            .text
        ).answer
        for variant in ("zero-shot", "one-shot", "few-shot")
    }
    assert set(answers.values()) == {answers["zero-shot"]} and "60 days" in answers["zero-shot"]


def test_streamed_pieces_join_to_the_same_reply() -> None:
    messages = PromptLibrary().messages(
        "zero-shot", [RETURNS], "Can I return unworn items, and what about Summit?"
    )
    model = ExtractiveChatModel(max_sentences=3)
    pieces = [chunk.text for chunk in model.stream(messages)]
    assert len(pieces) > 3 and "".join(pieces) == model.invoke(messages).text


def test_reports_usage_in_words() -> None:
    reply = ExtractiveChatModel().invoke(
        [HumanMessage(content=f"Sources:\n{format_sources([RETURNS])}\n\nQuestion: days?")]
    )
    assert reply.usage_metadata is not None
    answer = parse_reply(reply.text).answer
    assert reply.usage_metadata["output_tokens"] == len(answer.replace("[1]", "").split()) + 1


def test_list_items_read_as_sentences_and_fragments_stay_marked() -> None:
    checklist = hit(
        "up to 50% of the price paid, or sent back to you. Before you report a missing parcel:\n\n"
        '- check the packing slip: items marked "Ships separately" come in their own parcel;\n'
        "- ask your neighbours,",
        title="Missing parcels",
        source="kb/missing.md",
    )
    assert ask("What should I check on the packing slip?", checklist) == (
        'Check the packing slip: items marked "Ships separately" come in their own parcel. [1]'
    )
    assert ask("How much of the price paid?", checklist).startswith("…up to 50% of the price paid")
    lead_in = ask("What to do before you report a missing parcel?", checklist)
    assert lead_in.startswith("Before you report a missing parcel: Check the packing slip")


def test_the_best_sentence_leads_even_from_a_lower_ranked_source() -> None:
    care = hit(
        "Wash the jacket cold. Express shipping is faster in summer.", title="Care", source="kb/care.md"
    )
    answer = ask("How much is express shipping to the EU?", care, SHIPPING)
    assert answer == "Region: EU; Standard: €4.95; Express: €12.95. [2]"
