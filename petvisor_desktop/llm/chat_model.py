"""The on-device language model behind one small interface.

`LlamaChatModel` runs a GGUF through llama-cpp-python's low-level API, for two reasons:
- KV-cache reuse: the prompt's fixed part (instructions, examples, calendar) is evaluated
  once; each turn evaluates only the tokens after the longest common prefix.
- Cheap grammar sampling: llama-cpp-python's sampler applies the grammar to the whole
  vocabulary (~150k tokens) at every step. Like llama.cpp's own common sampler, we take the
  greedy token first and ask the grammar about that one token only; the full-vocabulary
  filter runs only when the grammar rejects it.
- Forced text in one batch: where the call's format leaves no choice (`{"tool":"`, the rest
  of a key or of an option once its first letters are written), the caller's `forced`
  function says so, and those tokens are evaluated together instead of one decode each (a
  token in a batch costs about a quarter of a generated one on 2 cores).
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

_OPEN: weakref.WeakSet[LlamaChatModel] = weakref.WeakSet()


@atexit.register
def _close_open_models() -> None:
    for model in list(_OPEN):
        model.close()


class LlmError(Exception):
    """The model could not be loaded or failed while generating."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ChatMessage:
    role: str  # system | user | assistant
    content: str


@dataclass(frozen=True)
class Completion:
    text: str
    tokens_in: int  # prompt tokens evaluated this call (after cache reuse)
    tokens_prompt: int  # prompt length in tokens
    tokens_out: int
    first_token_ms: float
    total_ms: float
    grammar_ms: float  # time spent asking the grammar
    grammar_fallbacks: int  # tokens where the greedy choice was rejected


class ChatModel(Protocol):
    """What the dialog needs from a language model."""

    def complete(
        self,
        messages: list[ChatMessage],
        grammar: str,
        max_tokens: int = 96,
        forced: Callable[[str], str] | None = None,
    ) -> Completion: ...


def _default_threads() -> int:
    return max(1, min(8, os.cpu_count() or 1))


class LlamaChatModel:
    """A llama.cpp model with ChatML prompts (Qwen 2.5) and grammar-constrained greedy output."""

    def __init__(self, llama: Any, path: Path) -> None:
        import llama_cpp

        self._lib = llama_cpp
        self._llama = llama
        self.path = path
        self._vocab = llama_cpp.llama_model_get_vocab(llama.model)
        self._n_vocab = int(llama_cpp.llama_vocab_n_tokens(self._vocab))
        self._lock = threading.Lock()
        self._grammar_cache: dict[str, Any] = {}
        # One reusable buffer for the full-vocabulary fallback.
        self._cand = (llama_cpp.llama_token_data * self._n_vocab)()
        self._single = (llama_cpp.llama_token_data * 1)()

    @classmethod
    def load(cls, path: Path, *, n_ctx: int = 4096, n_threads: int = 0) -> LlamaChatModel:
        """Load a GGUF file; raises LlmError with a clear message for a missing or bad file."""
        if not path.is_file():
            raise LlmError("missing", f"the language model file {path} does not exist")
        with path.open("rb") as fh:
            if fh.read(4) != b"GGUF":
                raise LlmError(
                    "corrupt", f"{path} is not a GGUF model file (damaged or wrong file)"
                )
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise LlmError("not-installed", "llama-cpp-python is not installed") from exc
        threads = n_threads or _default_threads()
        try:
            llama = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_batch=512,
                n_threads=threads,
                n_threads_batch=threads,
                # Read, not mapped: llama.cpp repacks most weights into its own buffers for
                # the CPU's kernels, and a mapped file keeps the pages it read resident as
                # well, so the weights were held twice (2.03 GB resident after a prompt,
                # against 1.41 GB read; generation speed the same within noise).
                use_mmap=False,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise LlmError("corrupt", f"could not load {path.name}: {exc}") from exc
        log.info("loaded %s (%d threads, context %d)", path.name, threads, n_ctx)
        model = cls(llama, path)
        _OPEN.add(model)
        return model

    def close(self) -> None:
        """Free the model's memory now (also done at exit for models still open: left to
        the interpreter's teardown, llama-cpp-python's finaliser runs after the modules it
        needs are gone and prints a TypeError)."""
        llama, self._llama = self._llama, None
        _OPEN.discard(self)
        if llama is not None:
            self._grammar_cache.clear()
            llama.close()

    # -- prompt -----------------------------------------------------------------------------
    @staticmethod
    def render(messages: list[ChatMessage]) -> str:
        """ChatML, ending with an open assistant turn."""
        return _chatml(messages) + "<|im_start|>assistant\n"

    def prefill(self, messages: list[ChatMessage], opening: str) -> int:
        """Evaluate `messages` and the start of the next user message, `opening` (what it is
        known to begin with before the caller speaks), so that the call that follows pays
        only for the rest. Returns the tokens evaluated (0 when they were already)."""
        tokens = self.tokenize(_chatml(messages) + f"<|im_start|>user\n{opening}")
        with self._lock:
            if (
                self._llama.n_tokens >= len(tokens)
                and list(self._llama.input_ids[: len(tokens)]) == tokens
            ):
                return 0
            return self._eval_prompt(tokens)

    def tokenize(self, text: str) -> list[int]:
        return list(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _eval_prompt(self, tokens: list[int]) -> int:
        """Evaluate `tokens`, reusing the cached common prefix. Returns tokens evaluated."""
        llama = self._llama
        cached = llama.n_tokens
        prefix = 0
        limit = min(cached, len(tokens))
        ids = llama.input_ids
        while prefix < limit and ids[prefix] == tokens[prefix]:
            prefix += 1
        if prefix == len(tokens):
            prefix -= 1  # re-evaluate the last token so fresh logits exist
        llama.n_tokens = prefix
        rest = tokens[prefix:]
        llama.eval(rest)
        return len(rest)

    def _logits(self) -> np.ndarray:
        ptr = self._lib.llama_get_logits_ith(self._llama.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self._n_vocab,))

    def _grammar_sampler(self, grammar: str) -> Any:
        sampler = self._lib.llama_sampler_init_grammar(self._vocab, grammar.encode(), b"root")
        if not sampler:
            raise LlmError("grammar", "the tool-call grammar did not parse")
        return sampler

    def _allowed(self, sampler: Any, token: int) -> bool:
        self._single[0].id = token  # type: ignore[assignment]  # ctypes converts the int
        self._single[0].logit = 0.0
        self._single[0].p = 0.0
        arr = self._lib.llama_token_data_array(
            ctypes.cast(self._single, self._lib.llama_token_data_p), 1, -1, False
        )
        self._lib.llama_sampler_apply(sampler, ctypes.byref(arr))
        return bool(np.isfinite(self._single[0].logit))

    def _next_allowed(self, sampler: Any, logits: np.ndarray, top_k: int = 16) -> int:
        """The most likely token the grammar accepts: the top few are asked one by one, and
        only if all are rejected is the whole vocabulary filtered."""
        top = np.argpartition(logits, -top_k)[-top_k:]
        for token in top[np.argsort(logits[top])[::-1]][1:]:
            if self._allowed(sampler, int(token)):
                return int(token)
        return self._best_allowed(sampler, logits)

    def _best_allowed(self, sampler: Any, logits: np.ndarray) -> int:
        """Full-vocabulary grammar filter, then argmax: the slow path."""
        buf = np.ctypeslib.as_array(
            ctypes.cast(self._cand, ctypes.POINTER(ctypes.c_float)), shape=(self._n_vocab * 3,)
        )
        view = buf.reshape(self._n_vocab, 3)
        view[:, 0] = np.arange(self._n_vocab, dtype=np.int32).view(np.float32)
        view[:, 1] = logits
        view[:, 2] = 0.0
        arr = self._lib.llama_token_data_array(
            ctypes.cast(self._cand, self._lib.llama_token_data_p), self._n_vocab, -1, False
        )
        self._lib.llama_sampler_apply(sampler, ctypes.byref(arr))
        scores = view[:, 1]
        best = int(np.argmax(scores))
        if not np.isfinite(scores[best]):
            raise LlmError("grammar", "the grammar allows no further token")
        return best  # the grammar filter keeps the array in token order

    def complete(
        self,
        messages: list[ChatMessage],
        grammar: str,
        max_tokens: int = 96,
        forced: Callable[[str], str] | None = None,
    ) -> Completion:
        """Greedy, grammar-constrained completion of the open assistant turn. `forced`:
        given the text so far, what the grammar allows next without a choice (see
        `grammar.forced_text`); those tokens are taken without asking the model."""
        lib = self._lib
        with self._lock:
            started = time.perf_counter()
            tokens = self.tokenize(self.render(messages))
            if len(tokens) + max_tokens > self._llama.n_ctx():
                raise LlmError(
                    "context", f"the prompt ({len(tokens)} tokens) does not fit the context"
                )
            evaluated = self._eval_prompt(tokens)
            sampler = self._grammar_sampler(grammar)
            out: list[int] = []
            grammar_s = 0.0
            fallbacks = 0
            first_ms = 0.0
            text = b""
            try:
                ahead = self._force(sampler, forced, "", out)
                if ahead:
                    self._llama.eval(ahead)
                    text = self._llama.detokenize(out)
                while len(out) < max_tokens:
                    logits = self._logits()
                    token = int(np.argmax(logits))
                    t0 = time.perf_counter()
                    if not self._allowed(sampler, token):
                        fallbacks += 1
                        token = self._next_allowed(sampler, logits)
                    grammar_s += time.perf_counter() - t0
                    if lib.llama_vocab_is_eog(self._vocab, token):
                        break
                    lib.llama_sampler_accept(sampler, token)
                    out.append(token)
                    if not first_ms:
                        first_ms = (time.perf_counter() - started) * 1000
                    text = self._llama.detokenize(out)
                    if text.endswith(b"}") and _is_complete_json(text):
                        break
                    ahead = self._force(sampler, forced, text, out)
                    if ahead:
                        text = self._llama.detokenize(out)
                        if text.endswith(b"}") and _is_complete_json(text):
                            break
                    self._llama.eval([token, *ahead])
            finally:
                lib.llama_sampler_free(sampler)
            total_ms = (time.perf_counter() - started) * 1000
        return Completion(
            text=text.decode("utf-8", errors="replace"),
            tokens_in=evaluated,
            tokens_prompt=len(tokens),
            tokens_out=len(out),
            first_token_ms=first_ms,
            total_ms=total_ms,
            grammar_ms=grammar_s * 1000,
            grammar_fallbacks=fallbacks,
        )

    def _force(
        self,
        sampler: Any,
        forced: Callable[[str], str] | None,
        text: bytes | str,
        out: list[int],
    ) -> list[int]:
        """The tokens of the text the grammar forces after `text`, accepted by the grammar
        and appended to `out` (none if there is no choice-free text, or a token is refused:
        the model then writes it itself)."""
        if forced is None:
            return []
        try:
            so_far = text.decode("utf-8") if isinstance(text, bytes) else text
        except UnicodeDecodeError:
            return []  # in the middle of a character
        rest = forced(so_far)
        if not rest:
            return []
        taken: list[int] = []
        # The last piece is left to the model: it may run on into what comes after the
        # forced text ('",' rather than '"' then ','), and a token split where the model
        # would not split it throws it off (it then closed calls early).
        for token in self.tokenize(rest)[:-1]:
            if not self._allowed(sampler, token):
                break
            self._lib.llama_sampler_accept(sampler, token)
            taken.append(token)
        out.extend(taken)
        return taken

    def warm(self, messages: list[ChatMessage], cache_dir: Path | None = None) -> float:
        """Evaluate the fixed prompt prefix now so the first turn pays only for its own tokens.
        With `cache_dir`, the evaluated prefix (the KV cache of ~1,200 tokens, about 30 MB) is
        kept on disk, so the next start loads it in a fraction of a second instead of
        evaluating it again (12 s on an idle 2-core PC, over 30 s on a busy one)."""
        started = time.perf_counter()
        with self._lock:
            tokens = self.tokenize(self.render(messages))
            path = self._prefix_file(cache_dir, tokens) if cache_dir else None
            if path is None or not self._load_prefix(path, tokens):
                self._eval_prompt(tokens)
                if path is not None:
                    self._save_prefix(path, tokens)
        return (time.perf_counter() - started) * 1000

    def _prefix_file(self, cache_dir: Path, tokens: list[int]) -> Path:
        stat = self.path.stat()
        key = hashlib.sha256(
            f"{self.path.name}:{stat.st_size}:{self._llama.n_ctx()}:".encode()
            + np.asarray(tokens, dtype=np.int32).tobytes()
        ).hexdigest()[:24]
        return cache_dir / f"prefix-{key}.kv"

    def _save_prefix(self, path: Path, tokens: list[int]) -> None:
        lib, ctx = self._lib, self._llama.ctx
        try:
            size = int(lib.llama_state_seq_get_size(ctx, 0))
            buf = (ctypes.c_uint8 * size)()
            written = int(lib.llama_state_seq_get_data(ctx, buf, size, 0))
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            partial.write_bytes(bytes(buf)[:written])
            os.replace(partial, path)  # a torn write never looks like a cache
            log.info("saved the prompt cache (%d tokens, %.1f MB)", len(tokens), written / 1e6)
        except OSError as exc:
            log.warning("could not save the prompt cache: %s", exc)  # a full disk: no cache

    def _load_prefix(self, path: Path, tokens: list[int]) -> bool:
        if not path.is_file():
            return False
        llama = self._llama
        data = path.read_bytes()
        buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        llama._ctx.kv_cache_seq_rm(-1, 0, -1)
        if int(self._lib.llama_state_seq_set_data(llama.ctx, buf, len(data), 0)) == 0:
            log.warning("the prompt cache %s did not fit this model; evaluating", path.name)
            path.unlink(missing_ok=True)
            llama.n_tokens = 0
            return False
        llama.input_ids[: len(tokens)] = tokens
        llama.n_tokens = len(tokens)
        # Fresh logits come from re-evaluating the last token, as after any cached prefix.
        self._eval_prompt(tokens)
        log.info("loaded the prompt cache (%d tokens)", len(tokens))
        return True


def _chatml(messages: list[ChatMessage]) -> str:
    return "".join(f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in messages)


def _is_complete_json(raw: bytes) -> bool:
    import json

    try:
        json.loads(raw)
    except ValueError:
        return False
    return True
