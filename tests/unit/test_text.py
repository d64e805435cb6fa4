from functions.text import content_terms, fold_case_and_space, split_sentences


def test_content_terms_drop_stop_words_and_stem() -> None:
    assert content_terms("How long do I have for returning my jackets?") == ["long", "return", "jacket"]


def test_sentences_skip_headings_and_list_markers() -> None:
    text = "## Window\nYou have 45 days. Summit members get 60!\n- Swimwear needs its liner.\n1. Pack it."
    assert split_sentences(text) == [
        "You have 45 days.",
        "Summit members get 60!",
        "Swimwear needs its liner.",
        "Pack it.",
    ]


def test_table_rows_become_sentences_naming_their_columns() -> None:
    text = "| Region | Standard |\n|---|---|\n| US | 5.95 |\n| EU | 4.95 |\nAfter."
    assert split_sentences(text) == ["Region: US; Standard: 5.95", "Region: EU; Standard: 4.95", "After."]


def test_a_passage_opening_mid_sentence_marks_the_fragment() -> None:
    # A chunk's overlap with the one before it can start inside a sentence.
    text = "\nfor footwear, tried on indoors only. Worn items may be refused.\n- check the slip;"
    assert split_sentences(text) == [
        "…for footwear, tried on indoors only.",
        "Worn items may be refused.",
        "check the slip;",  # a list item in lower case is whole, not a fragment
    ]
    assert split_sentences("## Returns\nfor footwear, see below.")[0] == "for footwear, see below."


def test_folding_ignores_case_and_runs_of_white_space_only() -> None:
    assert fold_case_and_space("  Straße\tund\n\nWEG ") == fold_case_and_space("STRASSE und weg")
    assert fold_case_and_space("returns") != fold_case_and_space("return s")
