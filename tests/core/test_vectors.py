"""pgvector literals (apps.core.vectors): remembered by the vector's bytes, yet always the text of the
vector given — whatever its dtype or memory layout."""

from __future__ import annotations

import numpy as np

from apps.core.vectors import vector_literal


def _formatted(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector.tolist()) + "]"


def test_the_literal_is_the_vector_formatted_for_every_dtype_and_layout():
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((4, 768))
    for vector in (matrix[0].astype(np.float32), matrix[1], matrix[:, 5], np.zeros(768, dtype=np.float32)):
        assert vector_literal(vector) == _formatted(vector)
    assert vector_literal(np.array([0.5, -2.5e-8, 3.0], dtype=np.float32)) == "[0.5,-2.5e-08,3]"


def test_a_remembered_literal_never_answers_for_another_vector():
    a = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    first = vector_literal(a)
    a[1] = 7.0  # the same array object, changed in place
    assert vector_literal(a) == "[1,7,3]" != first
    assert vector_literal(np.array([1.0, 2.0, 3.0], dtype=np.float64)) == "[1,2,3]"
