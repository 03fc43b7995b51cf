"""Bounds on recipe input: the size and encoding of the text, the nesting of its YAML, and
the caps the schema puts on steps, actions, alarms, parameters and conditions.

Every bound is far above what a real recipe needs (the shipped recipes are about 9 KB,
20 steps, a dozen actions per step, a few dozen alarms) and low enough that validating
the largest recipe allowed takes well under a second: the compiler's work grows with the
number of steps and actions, and the condition grammar recurses once per nesting level.
A recipe over a bound is refused with a message naming the field and the bound.
"""

from __future__ import annotations

import re

MAX_RECIPE_BYTES = 256 * 1024  # of UTF-8 text; under the API's 1 MiB body limit even JSON-escaped
MAX_YAML_DEPTH = 20  # nested mappings and lists; a recipe uses 6
MAX_STEPS = 200
MAX_ACTIONS_PER_STEP = 50
MAX_ALARMS = 200
MAX_PARAMETERS = 200
MAX_SPECIFICATIONS = 50
MAX_CONDITION_CHARS = 500
MAX_CONDITION_DEPTH = 32  # levels of the condition's syntax tree: a comparison of sums is about 5

_SURROGATE = re.compile("[\ud800-\udfff]")


class RecipeTextError(ValueError):
    """Recipe bytes or text that cannot be read at all; the message is one line that says
    what is wrong and what to do."""


def decode_recipe_bytes(data: bytes) -> str:
    """The recipe text of ``data`` (UTF-8); ``RecipeTextError`` naming the first byte that
    is not UTF-8, or the size when the text is over ``MAX_RECIPE_BYTES``."""
    if len(data) > MAX_RECIPE_BYTES:
        raise RecipeTextError(_too_large(len(data)))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecipeTextError(f"not UTF-8 at byte {exc.start}: save the recipe as UTF-8") from None
    problem = text_problem(text)
    if problem is not None:
        raise RecipeTextError(problem)
    return text


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be a recipe (too large, or not encodable as UTF-8), else None."""
    if len(text) > MAX_RECIPE_BYTES:  # a character is at least one byte
        return _too_large(len(text.encode("utf-8", "surrogatepass")))
    surrogate = _SURROGATE.search(text)
    if surrogate is not None:
        return f"not UTF-8 at character {surrogate.start()}: a lone surrogate (\\u{ord(surrogate.group()):04x})"
    size = len(text.encode("utf-8"))
    return _too_large(size) if size > MAX_RECIPE_BYTES else None


def _too_large(size: int) -> str:
    return f"the recipe is {size} bytes; at most {MAX_RECIPE_BYTES} are allowed: shorten it"
