import pytest

# The helpers shared by the tests assert too: pytest rewrites their assertions like the tests'.
pytest.register_assert_rewrite("tests.helpers")
