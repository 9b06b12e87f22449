import os
import time

from corelib.ids import _ALPHABET, new_id


def _by_division(prefix: str, value: int) -> str:
    """The layout spelled out: 26 Crockford base32 digits of the 128-bit value."""
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def test_the_encoding_matches_the_layout() -> None:
    for millis in (0, 1, 2**48 - 1, int(time.time() * 1000)):
        made = new_id("txn", now_ms=millis)
        random_part = int(
            "".join(str(_ALPHABET.index(c)) and format(_ALPHABET.index(c), "05b") for c in made[4:]), 2
        )
        assert random_part >> 80 == millis
        assert made == _by_division("txn", random_part)


def test_ids_sort_by_time_and_do_not_repeat() -> None:
    made = [new_id("evt", now_ms=1_000 + i // 10) for i in range(5_000)]
    assert len(set(made)) == len(made)
    assert [m[:14] for m in made] == sorted(m[:14] for m in made)
    assert all(len(m) == 30 and set(m[4:]) <= set(_ALPHABET) for m in made)


def test_a_forked_child_does_not_repeat_its_parent() -> None:
    new_id("evt")
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(write, new_id("evt", now_ms=5).encode())
        os._exit(0)
    os.waitpid(child, 0)
    from_child = os.read(read, 64).decode()
    assert new_id("evt", now_ms=5) != from_child
