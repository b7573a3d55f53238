"""pgvector literals (apps.core.vectors): the float32 vector given, whatever its dtype or memory layout,
in text that reads back to exactly the same float32 values."""

from __future__ import annotations

import json

import numpy as np

from apps.core.vectors import vector_literal


def test_the_literal_reads_back_to_the_same_float32s_for_every_dtype_and_layout():
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((4, 768))
    for vector in (matrix[0].astype(np.float32), matrix[1], matrix[:, 5], np.zeros(768, dtype=np.float32)):
        literal = vector_literal(vector)
        assert literal.startswith("[") and literal.endswith("]") and " " not in literal
        read_back = np.array(json.loads(literal), dtype=np.float32)
        assert read_back.tobytes() == vector.astype(np.float32).tobytes()
    assert vector_literal(np.array([0.5, -2.5e-8, 3.0], dtype=np.float32)) == "[0.5,-2.5e-8,3.0]"


def test_a_vector_changed_in_place_gets_its_new_literal():
    a = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    first = vector_literal(a)
    a[1] = 7.0
    assert vector_literal(a) == "[1.0,7.0,3.0]" != first
    assert vector_literal(np.array([1.0, 2.0, 3.0], dtype=np.float64)) == "[1.0,2.0,3.0]"
