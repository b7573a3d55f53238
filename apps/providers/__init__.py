"""Model providers: embedders, chat providers and the embedding cache.

Plain Python on purpose — no Django import anywhere in this package. Settings reach it as
arguments (see `build_embedder` and `build_chat_provider`), so the web process, Celery tasks,
management commands, replay and the load harness all build providers the same way, and the
package is tested without a database.
"""
