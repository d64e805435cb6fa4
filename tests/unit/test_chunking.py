from functions.ingest.chunking import Chunker


def test_chunks_never_mix_sections_and_carry_their_heading_path() -> None:
    markdown = "# Returns\n\nIntro.\n\n## Window\n\n45 days.\n\n## Exceptions\n\nSwimwear needs its liner."
    pieces = Chunker(chunk_size=200, chunk_overlap=20).split(markdown)
    assert [(p.section, p.text) for p in pieces] == [
        ("Returns", "# Returns\n\nIntro."),
        ("Returns > Window", "## Window\n\n45 days."),
        ("Returns > Exceptions", "## Exceptions\n\nSwimwear needs its liner."),
    ]


def test_long_sections_are_split_within_the_size_limit() -> None:
    sentence = "Standard delivery takes three to five business days. "
    markdown = "## Delivery\n\n" + sentence * 40
    pieces = Chunker(chunk_size=300, chunk_overlap=50).split(markdown)
    assert len(pieces) > 5
    assert all(len(p.text) <= 300 for p in pieces)
    assert {p.section for p in pieces} == {"Delivery"}


def test_heading_without_body_is_not_a_chunk() -> None:
    pieces = Chunker(200, 0).split("# Title\n\n## Empty\n\n## Full\n\nText.")
    assert [(p.section, p.text) for p in pieces] == [("Title > Full", "## Full\n\nText.")]
