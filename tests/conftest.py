"""Test ordering for `make test`, which runs the suite on two workers (`pytest -n 2 --dist loadfile`)."""

# Each worker takes whole modules in collection order: the longest ones go first, so that the
# end-to-end pipeline runs start at once and the short modules fill the other worker meanwhile.
LONGEST_FIRST = ("test_pipeline.py", "test_interruptions.py", "test_distribution.py")


def pytest_collection_modifyitems(items):
    rank = {name: k for k, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST_FIRST)))  # stable: keeps order within a module
