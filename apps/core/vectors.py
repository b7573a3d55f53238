"""pgvector literals — pure, shared by every app that binds a query vector into SQL."""

from __future__ import annotations

import numpy as np


def vector_literal(vector: np.ndarray) -> str:
    """`[x,y,...]` text for `%s::vector`: binds in any psycopg adapter state and is what pgvector parses fastest."""
    return "[" + ",".join(f"{x:.7g}" for x in vector.tolist()) + "]"
