"""One dtype policy for every layer with parameters: the input must have the parameters' dtype.

Nothing is cast silently, neither down (float64 into a float32 layer) nor up (float32 into a
float64 layer); layers without parameters keep the input's dtype.
"""
import numpy as np
import pytest

from scratchnet.nn import Conv2D, Conv2DTranspose, Dense, MaxPool2D, UpSampling2D

LAYERS = {  # a layer and the per-sample shape of its input
    "Dense": (lambda: Dense(4, 3, random_state=0), (4,)),
    "Conv2D": (lambda: Conv2D(2, 3, 3, stride=2, random_state=0), (2, 6, 6)),
    "Conv2DTranspose": (lambda: Conv2DTranspose(2, 3, 3, stride=2, random_state=0), (2, 3, 3)),
}


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("layer_dtype, input_dtype", [(np.float32, np.float64),
                                                      (np.float64, np.float32)])
def test_a_mismatched_input_dtype_is_refused(name, layer_dtype, input_dtype):
    make, shape = LAYERS[name]
    layer = make().astype(layer_dtype)
    x = np.zeros((2,) + shape, dtype=input_dtype)
    expected = np.dtype(layer_dtype).name
    with pytest.raises(TypeError, match=rf"{name}: expected input dtype {expected} "
                                        rf"\(the layer's\), got {np.dtype(input_dtype).name}"):
        layer.forward(x)


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_matching_input_keeps_its_dtype_through_forward_and_backward(name, dtype):
    make, shape = LAYERS[name]
    layer = make().astype(dtype)
    x = np.random.default_rng(0).standard_normal((2,) + shape).astype(dtype)
    y = layer.forward(x)
    assert y.dtype == dtype
    assert layer.backward(np.ones_like(y)).dtype == dtype
    assert all(p.grad.dtype == dtype for p in layer.parameters())


@pytest.mark.parametrize("layer", [MaxPool2D(2), UpSampling2D(2)], ids=lambda l: l.name)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layers_without_parameters_keep_the_input_dtype(layer, dtype):
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 4)).astype(dtype)
    y = layer.forward(x)
    assert y.dtype == dtype
    assert layer.backward(np.ones_like(y)).dtype == dtype
