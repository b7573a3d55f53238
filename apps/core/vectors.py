"""pgvector literals — pure, shared by every app that binds a query vector into SQL."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def vector_literal(vector: np.ndarray) -> str:
    """`[x,y,...]` text for `%s::vector`: binds in any psycopg adapter state and is what pgvector parses fastest."""
    vector = np.ascontiguousarray(vector)
    return _literal(vector.dtype.str, vector.tobytes())


# Remembered by the vector's bytes: formatting 768 floats is ~0.2 ms, and a coordinator's searches
# repeat a query (a profile swap, a widened filter, the next page) far more often than they change it.
@lru_cache(maxsize=256)
def _literal(dtype: str, raw: bytes) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in np.frombuffer(raw, dtype=dtype).tolist()) + "]"
