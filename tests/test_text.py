import pytest

from worker.text import fold, terms_of, tokenize


@pytest.mark.parametrize(
    ("word", "folded"),
    [
        ("Putin", "putin"),
        ("Lavróv", "lavrov"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),
        ("Путин", "путин"),
        ("Сергей", "сергей"),  # й keeps its mark: it is a letter of its own
        ("ＢＲＩＣＳ", "brics"),  # full-width letters, as in Chinese text
        ("习近平", "习近平"),
    ],
)
def test_fold(word: str, folded: str) -> None:
    assert fold(word) == folded


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Putin's visit", ["putin", "visit"]),  # a possessive stays on its word
        ("Putin’s visit", ["putin", "visit"]),
        ("China-Russia ties", ["china", "russia", "ties"]),
        ("China–Russia ties", ["china", "russia", "ties"]),
        ("“peace talks”", ["peace", "talks"]),
        ("习近平会见普京", ["习", "近", "平", "会", "见", "普", "京"]),
        ("Xi与Putin", ["xi", "与", "putin"]),
        ("snake_case", ["snake", "case"]),
    ],
)
def test_tokenize_words(text: str, words: list[str]) -> None:
    assert [token.text for token in tokenize(text)] == words


def test_tokens_point_back_into_the_original_text() -> None:
    text = "President Lavróv’s talks"
    tokens = tokenize(text)
    assert [text[t.start : t.end] for t in tokens] == ["President", "Lavróv’s", "talks"]


def test_terms_of_a_phrase() -> None:
    assert terms_of("Video  Call") == ("video", "call")
