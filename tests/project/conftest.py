import pytest

from projhelpers import random_weights, small_spec


@pytest.fixture
def spec():
    return small_spec()


@pytest.fixture
def weights(spec):
    return random_weights(spec)


@pytest.fixture
def make_weights():
    return random_weights
