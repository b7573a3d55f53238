"""Token authentication with a short in-process cache.

Under load the token lookup was a quarter of request wall time (one query per request on a database
that is also doing the vector search). Each process remembers a verified token for
API_TOKEN_CACHE_S seconds (default 30): a deleted token or a deactivated user stops working within
that window, not instantly — the trade-off is documented in the README.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from django.conf import settings
from rest_framework.authentication import TokenAuthentication


class CachedTokenAuthentication(TokenAuthentication):
    _cache: "OrderedDict[str, tuple[float, object, object]]" = OrderedDict()
    _lock = threading.Lock()
    _max_entries = 1024
    _clock = staticmethod(time.monotonic)  # a test steps it to check the window without waiting

    def authenticate_credentials(self, key: str):
        ttl = settings.API_TOKEN_CACHE_S
        now = self._clock()
        if ttl > 0:
            with self._lock:
                hit = self._cache.get(key)
                if hit is not None and hit[0] > now:
                    self._cache.move_to_end(key)
                    return hit[1], hit[2]
        user, token = super().authenticate_credentials(key)  # raises AuthenticationFailed when invalid
        if ttl > 0:
            with self._lock:
                self._cache[key] = (now + ttl, user, token)
                self._cache.move_to_end(key)
                while len(self._cache) > self._max_entries:
                    self._cache.popitem(last=False)
        return user, token

    @classmethod
    def forget_all(cls) -> None:
        with cls._lock:
            cls._cache.clear()
