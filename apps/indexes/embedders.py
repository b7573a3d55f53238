"""The process's embedder and embedding cache, built once from settings.

The providers themselves (apps.providers) are plain Python; this is where Django's settings meet them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import redis
from django.conf import settings

from apps.core.errors import InvalidInput
from apps.core.redis import get_redis
from apps.providers.embedding_cache import NOT_READ, EmbeddingCache
from apps.providers.embeddings import Embedder, build_embedder


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    return build_embedder(
        settings.EMBEDDING_PROVIDER,
        dim=settings.EMBEDDING_DIM,
        ollama_url=settings.OLLAMA_URL,
        openai_base_url=settings.OPENAI_BASE_URL,
        openai_api_key=settings.OPENAI_API_KEY or None,
        model=settings.EMBEDDING_MODEL or None,
    )


@lru_cache(maxsize=1)
def get_embedding_cache() -> EmbeddingCache:
    return EmbeddingCache(get_embedder(), get_redis(), ttl_s=settings.EMBEDDING_CACHE_TTL_S)


def embed_query(
    text: str, *, redis_value: bytes | None | object = NOT_READ, pipeline: redis.client.Pipeline | None = None
) -> tuple[np.ndarray, str]:
    """A query's vector through the cache, and whether it was a hit (`EmbeddingCache.embed_query`).

    A query with nothing the embedder can use ("0", "😀😀" for `hash`) embeds to the zero vector, whose
    cosine distance to everything is undefined (NaN): that is a 400 on `query`, not a search.
    """
    vector, state = get_embedding_cache().embed_query(text, redis_value=redis_value, pipeline=pipeline)
    if not np.any(vector):
        raise InvalidInput("The query has nothing to search on.", fields={"query": ["has no searchable words"]})
    return vector, state


# ------------------------------------------------------------------------- the optional semantic vector


def semantic_enabled() -> bool:
    """Whether workers carry a second, semantic vector and searches fuse both rankings (issue 19)."""
    return bool(settings.SEMANTIC_EMBEDDING_PROVIDER)


@lru_cache(maxsize=1)
def get_semantic_embedder() -> Embedder:
    """The SEMANTIC_EMBEDDING_PROVIDER embedder (e.g. sentence-transformers with the packaged
    all-MiniLM-L6-v2), at SEMANTIC_EMBEDDING_DIM; `hash` is accepted too (no model)."""
    provider = settings.SEMANTIC_EMBEDDING_PROVIDER
    model = None if provider == "hash" else settings.SEMANTIC_EMBEDDING_MODEL or None
    return build_embedder(
        provider,
        dim=settings.SEMANTIC_EMBEDDING_DIM,
        ollama_url=settings.OLLAMA_URL,
        openai_base_url=settings.OPENAI_BASE_URL,
        openai_api_key=settings.OPENAI_API_KEY or None,
        model=model,
    )


@lru_cache(maxsize=1)
def get_semantic_embedding_cache() -> EmbeddingCache:
    return EmbeddingCache(get_semantic_embedder(), get_redis(), ttl_s=settings.EMBEDDING_CACHE_TTL_S)


def embed_semantic_query(text: str) -> tuple[np.ndarray, str]:
    """A query's semantic vector through its own cache (keys carry the provider/model/dim)."""
    return get_semantic_embedding_cache().embed_query(text)
