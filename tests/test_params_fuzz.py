"""Bad numbers in params.yaml are refused with one line that names the key, never passed on.

YAML reads ``.nan`` and ``.inf`` as floats and a typo's extra zeros as a valid integer. Every
numeric key is found by walking ``latentspace.params.SCHEMA`` (a key added there is covered
without touching this file) and fed, one at a time into the default params.yaml, non-finite,
negative, zero, huge and wrongly typed values (Hypothesis, derandomized): ``validate`` must
either accept the value, which must then be finite and within the key's bounds, or raise a
ParamsError that starts with ``params.yaml: <that key>`` -- never another exception.
"""

import copy
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from latentspace import params as schema_module
from latentspace.params import (SCHEMA, Boolean, Choice, CountOrFraction, ListOf, MirrorSpec, Number, OrNull,
                                ParamsError, Text, load_params, validate)

REPO = Path(__file__).resolve().parents[1]
DEFAULTS = yaml.safe_load((REPO / "params.yaml").read_text())
FUZZ = settings(max_examples=40, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class NumericKey:
    name: str  # as errors name it: "sample.uniform.b", "data.celeba.mirrors.images[0].size"
    path: tuple  # keys and list indices from the top of params.yaml down to the value
    spec: object  # Number, OrNull(Number), CountOrFraction or ListOf(Number)

    @property
    def is_list(self) -> bool:
        return isinstance(self.spec, ListOf)

    def item_name(self, i: int) -> str:
        return f"{self.name}[{i}]"


def numeric_keys(schema: dict, prefix: tuple = ()) -> list[NumericKey]:
    keys = []
    for key, spec in schema.items():
        path = (*prefix, key)
        name = ".".join(path)
        if isinstance(spec, dict):
            keys += numeric_keys(spec, path)
        elif isinstance(spec, (Number, CountOrFraction)) or isinstance(getattr(spec, "inner", None), Number) \
                or isinstance(getattr(spec, "item", None), Number):  # OrNull(Number), ListOf(Number)
            keys.append(NumericKey(name, path, spec))
        elif isinstance(spec, ListOf) and isinstance(spec.item, MirrorSpec):  # a mirror's size in bytes
            keys.append(NumericKey(f"{name}[0].size", (*path, 0, "size"), schema_module.MIRROR_SIZE))
    return keys


KEYS = numeric_keys(SCHEMA)


def specs(schema: dict):
    for spec in schema.values():
        if isinstance(spec, dict):
            yield from specs(spec)
        else:
            yield spec
            while isinstance(spec, (ListOf, OrNull)):
                spec = spec.item if isinstance(spec, ListOf) else spec.inner
                yield spec


def test_the_walk_knows_every_kind_of_spec():
    """A new kind of spec could hold numbers the walk above does not see: teach it first."""
    known = (Number, OrNull, CountOrFraction, ListOf, MirrorSpec, Choice, Boolean, Text)
    assert [s for s in specs(SCHEMA) if not isinstance(s, known)] == []
    assert len(KEYS) > 100  # sanity: the walk found the schema's numbers


def test_every_numeric_key_has_an_upper_bound_and_a_lower_one():
    """Finite is not enough for a float either: NumPy's uniform refuses a range of 1.8e308."""
    unbounded = []
    for key in KEYS:
        spec = key.spec.item if key.is_list else key.spec.inner if isinstance(key.spec, OrNull) else key.spec
        if spec.high is None or isinstance(spec, Number) and spec.low is None:
            unbounded.append(key.name)
    assert unbounded == []


def test_bounds_agree_with_the_libraries_they_protect():
    from latentspace import synthetic

    assert SCHEMA["data"]["synthetic"]["n_images"].high == synthetic._MAX_IMAGES  # six-digit file names


def at(tree, path: tuple):
    for step in path:
        tree = tree[step]
    return tree


def with_value(path: tuple, value) -> dict:
    p = copy.deepcopy(DEFAULTS)
    at(p, path[:-1])[path[-1]] = value
    return p


def assert_allowed(spec, value, name: str) -> None:
    """An accepted (validated) value is finite and inside the bounds the schema documents."""
    if isinstance(spec, OrNull):
        if value is not None:
            assert_allowed(spec.inner, value, name)
    elif isinstance(spec, ListOf):
        assert isinstance(value, list) and len(value) >= spec.min_len, (name, value)
        assert spec.max_len is None or len(value) <= spec.max_len, (name, value)
        for i, item in enumerate(value):
            assert_allowed(spec.item, item, f"{name}[{i}]")
    elif isinstance(spec, CountOrFraction):
        if isinstance(value, int):
            assert not isinstance(value, bool) and 1 <= value <= spec.high, (name, value)
        else:
            assert isinstance(value, float) and 0 < value < 1, (name, value)
    else:
        assert type(value) is spec.kind, (name, value)
        assert spec.kind is int or math.isfinite(value), (name, value)  # an int is finite, however large
        if spec.low is not None:
            assert value > spec.low if spec.low_open else value >= spec.low, (name, value)
        if spec.high is not None:
            assert value <= spec.high, (name, value)


NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
NEGATIVE = st.integers(max_value=-1) | st.floats(max_value=0.0, exclude_max=True, allow_nan=False, allow_infinity=False)
ZERO = st.sampled_from([0, 0.0, -0.0])
HUGE = (st.sampled_from([10**12, 10**400, 1e12, 1e300, 1.7976931348623157e308])
        | st.integers(min_value=10**12, max_value=10**40)
        | st.floats(min_value=1e12, allow_nan=False, allow_infinity=False))
NOT_A_NUMBER = (st.text(max_size=8) | st.booleans() | st.none()
                | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
BAD = NON_FINITE | NEGATIVE | ZERO | HUGE | NOT_A_NUMBER | st.lists(NON_FINITE | NOT_A_NUMBER, max_size=3)


@pytest.mark.parametrize("key", KEYS, ids=lambda k: k.name)
@FUZZ
@given(data=st.data())
def test_bad_numbers_are_refused_by_name_or_accepted_within_bounds(key, data):
    default = at(DEFAULTS, key.path[:-1]).get(key.path[-1])
    if key.is_list and default and data.draw(st.booleans(), label="one item"):
        i = data.draw(st.integers(0, len(default) - 1), label="index")
        value = [*default]
        value[i] = data.draw(BAD, label="item")
        named = re.escape(key.item_name(i))
    else:  # the whole value; for a list, one that is no list or that holds bad items
        value = data.draw(BAD | st.lists(BAD, max_size=4) if key.is_list else BAD, label="value")
        named = re.escape(key.name) + (r"(\[\d+\])?" if key.is_list else "")
    try:
        out = validate(with_value(key.path, value))
    except ParamsError as exc:
        assert re.fullmatch(rf"params\.yaml: {named} = [^\n]+", str(exc)), (key.name, value, str(exc))
    else:
        assert_allowed(key.spec, at(out, key.path), key.name)


def nan_case(key: NumericKey, value):
    """``value`` put where ``key`` is (its first item for a list) and the name the error must start with."""
    if key.is_list:
        default = at(DEFAULTS, key.path)
        return with_value(key.path, [value, *default[1:]]), key.item_name(0)
    return with_value(key.path, value), key.name


@pytest.mark.parametrize("key", KEYS, ids=lambda k: k.name)
def test_every_numeric_key_refuses_nan_and_inf(key):
    item = key.spec.item if key.is_list else key.spec.inner if isinstance(key.spec, OrNull) else key.spec
    for value in (math.nan, math.inf, -math.inf):
        bad, name = nan_case(key, value)
        with pytest.raises(ParamsError) as info:
            validate(bad)
        allowed = "must be an integer" if isinstance(item, Number) and item.kind is int else "must be a finite number"
        assert str(info.value).startswith(f"params.yaml: {name} = {value!r}: {allowed}"), str(info.value)


@pytest.mark.parametrize("text, message", [
    (".nan", "params.yaml: stats.bin_width = nan: must be a finite number"),
    (".inf", "params.yaml: stats.bin_width = inf: must be a finite number"),
    ("-.Inf", "params.yaml: stats.bin_width = -inf: must be a finite number"),
    ("1" + "0" * 400, "params.yaml: stats.bin_width = 1" + "0" * 400 + ": must be a finite number"),
    ("1" + "0" * 5000, "a value cannot be read (Exceeds the limit (4300 digits)"),
])
def test_yaml_spellings_of_bad_numbers(tmp_path, text, message):
    source = (REPO / "params.yaml").read_text()
    assert source.count("bin_width: 0.25 ") == 1
    (tmp_path / "params.yaml").write_text(source.replace("bin_width: 0.25 ", f"bin_width: {text} "))
    with pytest.raises(ParamsError) as info:
        load_params(tmp_path / "params.yaml")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_typo_of_ten_zeros_names_the_key_and_the_bound():
    with pytest.raises(ParamsError, match=r"^params\.yaml: train\.batch_size = 640000000000: must be <= 65536$"):
        validate(with_value(("train", "batch_size"), 640_000_000_000))
    with pytest.raises(ParamsError, match=r"^params\.yaml: train\.seed = 4294967296: must be <= 4294967295$"):
        validate(with_value(("train", "seed"), 2**32))
    with pytest.raises(ParamsError, match=r"^params\.yaml: prepare\.split\.train_size = 1700000000000: must be <= "):
        validate(with_value(("prepare", "split", "train_size"), 1_700_000_000_000))
    with pytest.raises(ParamsError, match=r"^params\.yaml: train\.epochs = <int too long to print>: must be <= "):
        validate(with_value(("train", "epochs"), 10**5000))


def collected_here() -> int:
    """How many tests ``pytest tests/test_params_fuzz.py`` runs (the parametrised ones once per case)."""
    n = 0
    for name, f in globals().items():
        if name.startswith("test_") and callable(f):
            marks = [m for m in getattr(f, "pytestmark", []) if m.name == "parametrize"]
            n += math.prod(len(m.args[1]) for m in marks)
    return n


def test_the_docs_quote_these_counts():
    """docs/reliability.md quotes the number of numeric keys and of tests with the commands
    that print them: a key added to the schema changes both, and this test says so."""
    text = (REPO / "docs" / "reliability.md").read_text()
    command = r"`python -m pytest tests/test_params_fuzz\.py -q{}`\s+prints\s+`(\d+) passed`"
    per_key, whole = (re.search(command.format(k), text) for k in (" -k refuses_nan", ""))
    assert per_key and whole, "docs/reliability.md no longer quotes the commands"
    assert (int(per_key[1]), int(whole[1])) == (len(KEYS), collected_here())
