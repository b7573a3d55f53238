"""The Redis keys of the interaction log's queue (apps.interactions.services writes and drains them,
apps.interactions.selectors reads PENDING_KEY)."""

# A list of scrubbed rows as JSON, oldest first.
QUEUE_KEY = "interactions:queue"
# A hash id → kind of the rows in QUEUE_KEY: what feedback on a not yet drained id looks up.
PENDING_KEY = "interactions:pending"
