"""``ConceptSet.load`` (the classifier used on its own): a concept file that is not
UTF-8 or nested past what the JSON reader takes gets a ``ConceptError`` naming the file
and what is wrong, as a missing file or a JSON typo does, never another exception."""

import pytest

from classifier import ConceptError, ConceptSet


@pytest.mark.parametrize(
    "content, words",
    [
        ('{"format": 2, "about": "caf\xe9"}'.encode("latin-1"), "not UTF-8"),
        (b"[" * 200_000 + b"]" * 200_000, "nested too deep"),
    ],
)
def test_a_concept_file_that_cannot_be_read_says_why(tmp_path, content, words):
    path = tmp_path / "concepts.json"
    path.write_bytes(content)
    with pytest.raises(ConceptError) as caught:
        ConceptSet.load(path)
    assert str(path) in str(caught.value) and words in str(caught.value)
