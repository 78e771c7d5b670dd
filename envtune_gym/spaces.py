"""``UnicodeText``: a Gymnasium ``Text`` space that holds any text a model emits.

``gymnasium.spaces.Text`` checks every character against an explicit charset; its default (alphanumerics) rejects
spaces, and even a whole-BMP charset rejects emoji. Spelling out all 1.1M code points costs hundreds of MB per
space, so this subclass accepts any ``str`` within the length bounds, samples from printable ASCII, and stores
text in vector-env shared memory as code points instead of charset indices.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any, overload

import numpy as np
from gymnasium.spaces import Text
from gymnasium.spaces.utils import flatdim, flatten, flatten_space, unflatten
from gymnasium.vector.utils.shared_memory import (
    create_shared_memory,
    read_from_shared_memory,
    write_to_shared_memory,
)

#: Characters ``sample()`` draws from: printable ASCII (what ``check_env``'s random actions look like).
SAMPLE_CHARSET = string.printable

#: The highest Unicode code point.
_MAX_CODE_POINT = 0x10FFFF


class UnicodeText(Text):
    """Any Unicode string of ``min_length`` to ``max_length`` characters.

    Example:
        >>> space = UnicodeText(max_length=64)
        >>> space.contains("ls(a=True) 🙂 café") and not space.contains("x" * 65)
        True
    """

    def __init__(
        self, max_length: int, *, min_length: int = 0, seed: int | np.random.Generator | None = None
    ):
        super().__init__(max_length, min_length=min_length, charset=SAMPLE_CHARSET, seed=seed)

    def contains(self, x: Any) -> bool:
        """Any ``str`` whose length is within the bounds."""
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText({self.min_length}, {self.max_length})"

    def __eq__(self, other: Any) -> bool:
        return (
            isinstance(other, UnicodeText)
            and self.min_length == other.min_length
            and self.max_length == other.max_length
        )

    def __hash__(self) -> int:
        return hash((UnicodeText, self.min_length, self.max_length))


# Shared memory and flattening store code points + 1, so 0 marks padding and any character round-trips.


def _encode(space: UnicodeText, text: str) -> np.ndarray:
    codes = np.zeros(space.max_length, dtype=np.int32)
    length = min(len(text), space.max_length)
    codes[:length] = np.frombuffer(text[:length].encode("utf-32-le", "surrogatepass"), dtype=np.uint32) + 1
    return codes


def _decode(codes: np.ndarray) -> str:
    used = codes[codes > 0].astype(np.uint32) - 1
    return used.tobytes().decode("utf-32-le", "surrogatepass")


@flatten.register(UnicodeText)
def _flatten_unicode_text(space: UnicodeText, x: str) -> np.ndarray:
    return _encode(space, x)


@unflatten.register(UnicodeText)
def _unflatten_unicode_text(space: UnicodeText, x: np.ndarray) -> str:
    return _decode(np.asarray(x))


@flatdim.register(UnicodeText)
def _flatdim_unicode_text(space: UnicodeText) -> int:
    return space.max_length


@flatten_space.register(UnicodeText)
def _flatten_space_unicode_text(space: UnicodeText):
    from gymnasium.spaces import Box

    return Box(low=0, high=_MAX_CODE_POINT + 1, shape=(space.max_length,), dtype=np.int32)


@create_shared_memory.register(UnicodeText)
def _create_unicode_text_shared_memory(space: UnicodeText, n: int = 1, ctx: Any = None):
    import multiprocessing as mp

    return (ctx or mp).Array(np.dtype(np.int32).char, n * space.max_length)


class SharedTexts(Sequence[str]):
    """A live view of ``n`` texts in shared memory, as a vector env's ``observations`` must be.

    ``AsyncVectorEnv`` reads its observation buffer once, at construction, and relies on the result being a view
    that the workers' writes update (true of numpy arrays; not of Gymnasium's ``Text``, whose reader returns a
    tuple of the strings at that moment). This view decodes on access, and ``copy.deepcopy`` (what the vector env
    returns by default) gives a plain ``tuple`` of ``str``.
    """

    def __init__(self, data: np.ndarray) -> None:
        self._data = data

    def __len__(self) -> int:
        return len(self._data)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...

    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        if isinstance(index, slice):
            return tuple(_decode(row) for row in self._data[index])
        return _decode(self._data[index])

    def __deepcopy__(self, memo: dict[int, Any]) -> tuple[str, ...]:
        return tuple(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (tuple, list, SharedTexts)) and tuple(self) == tuple(other)

    def __repr__(self) -> str:
        return f"SharedTexts({tuple(self)!r})"


@read_from_shared_memory.register(UnicodeText)
def _read_unicode_text(space: UnicodeText, shared_memory: Any, n: int = 1) -> SharedTexts:
    return SharedTexts(np.frombuffer(shared_memory.get_obj(), dtype=np.int32).reshape((n, space.max_length)))


@write_to_shared_memory.register(UnicodeText)
def _write_unicode_text(space: UnicodeText, index: int, values: str, shared_memory: Any) -> None:
    size = space.max_length
    destination = np.frombuffer(shared_memory.get_obj(), dtype=np.int32)
    np.copyto(destination[index * size : (index + 1) * size], _encode(space, values))
