"""pgvector literals — pure, shared by every app that binds a query vector into SQL."""

from __future__ import annotations

import numpy as np
import orjson


def vector_literal(vector: np.ndarray) -> str:
    """`[x,y,...]` text for `%s::vector`: binds in any psycopg adapter state and is what pgvector parses
    fastest. Each value is the float32's shortest round-trip form, so PostgreSQL reads back exactly the
    float32 vector; orjson writes 768 of them in ~20 µs, where a Python format loop took ~220 µs."""
    return orjson.dumps(np.ascontiguousarray(vector, dtype=np.float32), option=orjson.OPT_SERIALIZE_NUMPY).decode()
