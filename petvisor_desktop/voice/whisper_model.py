"""faster-whisper's model, remembering its last few encodings. The free decode of a turn and
the fit of its transcript to the answers the step expects (`fit`) read the same audio, and
the encoder (~170 ms of both cores for tiny.en, whatever the length: it always sees a 30 s
window) was most of a fit's cost: run 17's slow "I heard <address>" replies waited for it.
Imported only where faster-whisper is installed."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from faster_whisper import WhisperModel

# The turn being decided, a partial decode of it running beside (`partial_interval_s`) and
# the speculative decode of the pause: a few 30 s encodings (2.3 MB each for tiny.en).
KEPT = 4


class EncodingOnceModel(WhisperModel):
    """A WhisperModel whose `encode` gives the same features' encoding once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._encodings: OrderedDict[bytes, Any] = OrderedDict()
        self._encodings_lock = threading.Lock()
        self.encoded = 0  # encoder runs, for tests and benchmarks

    def encode(self, features: np.ndarray) -> Any:
        data = np.ascontiguousarray(features, dtype=np.float32)
        key = hashlib.blake2b(data.tobytes(), digest_size=16).digest() + repr(data.shape).encode()
        with self._encodings_lock:
            if key in self._encodings:
                self._encodings.move_to_end(key)
                return self._encodings[key]
        encoded = super().encode(features)
        with self._encodings_lock:
            self.encoded += 1
            self._encodings[key] = encoded
            while len(self._encodings) > KEPT:
                self._encodings.popitem(last=False)
        return encoded
