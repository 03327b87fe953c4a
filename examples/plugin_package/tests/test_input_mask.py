"""The plugin's own tests: the public conformance checker does the heavy lifting."""

import numpy as np
from esenas_input_mask.space import InputMaskSpace

from esenas_core import TaskSpec, check_search_space, get_registries


def test_conformance() -> None:
    for spec in (TaskSpec(obs_dim=5, act_dim=2), TaskSpec(obs_dim=3, act_dim=4, discrete=True)):
        ran = check_search_space(InputMaskSpace(InputMaskSpace.Options(), spec))
        assert "vectorized forward == per-edge reference" in ran


def test_found_through_its_entry_point() -> None:
    entry = get_registries()["search_space"].get("input_mask")
    assert entry.cls is InputMaskSpace
    assert entry.source == "esenas-input-mask"


def test_switched_off_input_is_ignored() -> None:
    space = InputMaskSpace(InputMaskSpace.Options(), TaskSpec(obs_dim=3, act_dim=1))
    arch = space.decode(np.array([1, 0, 1]))
    params = np.ones((1, space.num_params))
    net = space.network(params, [arch])
    a = net(np.array([[0.1, 5.0, 0.2]]))
    b = net(np.array([[0.1, -5.0, 0.2]]))
    np.testing.assert_allclose(a, b)
