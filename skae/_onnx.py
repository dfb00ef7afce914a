"""ONNX export: skl2onnx converters for every skae estimator.

With the optional extra installed (``pip install "skae[onnx]"``: skl2onnx,
onnx and onnxruntime), ``import skae`` registers a shape calculator and a
converter for each estimator family, so :func:`skl2onnx.to_onnx` converts a
fitted estimator, or a :class:`~sklearn.pipeline.Pipeline` holding one, like
any scikit-learn transformer::

    from skl2onnx import to_onnx
    onx = to_onnx(pipe, X[:1])          # MinMaxScaler -> Autoencoder -> SVC

Registering at import rather than on an explicit call is what makes that line
work as it does for scikit-learn's own estimators: skl2onnx has no plugin
entry point, and a user who forgets a registration call only gets
``MissingShapeCalculator``, which does not say what to call. The cost falls
only on those who installed skl2onnx (importing it takes about 0.6 s on top of
torch's 4 s), and a broken skl2onnx installation gives a warning, never a
failing ``import skae``. :func:`register_converters` registers again (after
another library replaced a converter) and registers a family of your own,
which skl2onnx cannot find through its base class.

How the graph is built
----------------------
The converter writes the evaluation-mode network as ONNX operators from the
fitted weights (``Gemm``, ``Conv``, ``ConvTranspose``, ``Resize``,
``Reshape``, ``Flatten``, ``Slice``, ``Relu``, ``Tanh``, ``Sigmoid``, ``Mul``,
``Add``), one translation per torch module skae builds. It does not call
``torch.onnx.export``, for three reasons: since torch 2.9 that exporter needs
the extra package ``onnxscript`` (the TorchScript exporter it replaces is
deprecated); its graph has its own opset and names, which would have to be
renamed and re-versioned to sit inside skl2onnx's graph; and it traces the
network on every conversion. The translation uses opset 13 operators, whose
meaning later opsets keep, so it follows skl2onnx's ``target_opset``.

What is exported is exactly what ``transform`` computes: corruptions (the
denoising noise), penalties (sparsity, contraction) and the VAE's sampling
act in training mode only and have no operator; a VAE exports its posterior
mean. The input is cast to float32, as ``transform`` casts it, and the output
is float32. A network built from torch modules other than skae's own (a
custom ``architecture`` or family) raises a ``NotImplementedError`` that
names the module.

``inverse_transform``
---------------------
skl2onnx converts the ``transform`` (or ``predict``) path of a pipeline and
has no standard way to ask for ``inverse_transform``. skae's converters
declare their own skl2onnx option, ``inverse_transform``: with it the
estimator converts to its decoder, mapping ``(n, n_components)`` codes to
``(n, n_features_in_)`` reconstructions, as ``inverse_transform`` does::

    onx = to_onnx(ae, Z[:1], options={id(ae): {"inverse_transform": True}})
"""

import importlib.util
import inspect
import warnings

import numpy as np
from sklearn.utils.validation import check_is_fitted
from torch import nn

# The families must exist before _skae_families looks for them.
from . import _autoencoder, _contractive, _denoising, _sparse, _variational  # noqa: F401
from ._base import BaseAutoencoder
from .nn import (
    AutoencoderModule,
    ConvDecoder,
    ConvEncoder,
    JacobianProjectionModule,
    LinearShortcut,
    Logistic,
    MLPDecoder,
    MLPEncoder,
    TiedMLPDecoder,
    VariationalModule,
)
from .nn._conv import _Resize

__all__ = ["register_converters", "register_if_available"]


def _skae_families():
    """The concrete estimator classes defined in skae, a new family included."""
    found, stack = [], list(BaseAutoencoder.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] == "skae" and not inspect.isabstract(cls):
            found.append(cls)
    return tuple(sorted(set(found), key=lambda cls: cls.__name__))


#: The estimator classes whose converters ``import skae`` registers.
ESTIMATOR_CLASSES = _skae_families()

#: The skl2onnx options skae's converters accept, with their allowed values.
OPTIONS = {"inverse_transform": [False, True]}

# Every operator is written at the opset version that introduced its current
# meaning; the model's opset is at least this (skl2onnx raises it as other
# converters need) and at most skl2onnx's target_opset.
_OPSET = 13


def register_converters(*classes):
    """Register skl2onnx's shape calculator and converter for skae estimators.

    ``import skae`` calls it for every skae family when skl2onnx is
    installed; call it yourself to register a family of your own (skl2onnx
    looks converters up by the exact class, not by its base) or to register
    again after another library replaced a converter.

    Parameters
    ----------
    *classes : subclasses of skae's base estimator
        The estimator classes to register; none means every skae family.

    Returns
    -------
    classes : tuple of type
        The classes registered.

    Raises
    ------
    ImportError
        If skl2onnx is not installed (``pip install "skae[onnx]"``).
    TypeError
        If a class is not a skae estimator.
    """
    from skl2onnx import update_registered_converter

    classes = classes or ESTIMATOR_CLASSES
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, BaseAutoencoder)):
            raise TypeError(f"register_converters takes skae estimator classes, got {cls!r}.")
    for cls in classes:
        update_registered_converter(
            cls,
            # Families of the same name share the alias harmlessly: they share
            # the shape calculator, the converter and its options.
            f"Skae{cls.__name__}",
            _calculate_output_shapes,
            _convert,
            options=OPTIONS,
        )
    return tuple(classes)


def register_if_available():
    """Register the converters when skl2onnx can be imported, as ``import skae`` does.

    Returns
    -------
    registered : bool
        Whether the converters were registered: False when skl2onnx is not
        installed, or (with a warning) when importing it failed.
    """
    if importlib.util.find_spec("skl2onnx") is None:
        return False
    try:
        register_converters()
    except Exception as exc:  # a broken optional extra must not break import skae
        warnings.warn(
            f"skae's ONNX converters are not registered: importing skl2onnx failed with "
            f"{exc!r}. Reinstall the extra (pip install 'skae[onnx]') to export to ONNX.",
            RuntimeWarning,
            stacklevel=2,
        )
        return False
    return True


# ----------------------------------------------------------- shape calculator


def _inverse(scope_or_container, model):
    options = scope_or_container.get_options(model, {"inverse_transform": False})
    return bool(options["inverse_transform"])


def _widths(model, inverse):
    """``(input width, output width)`` of the exported graph."""
    if inverse:
        return model.n_components_, model.n_features_in_
    return model.n_features_in_, model.n_components_


def _calculate_output_shapes(operator):
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int32TensorType,
        Int64TensorType,
    )
    from skl2onnx.common.utils import (
        check_input_and_output_numbers,
        check_input_and_output_types,
    )

    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    check_input_and_output_types(
        operator,
        good_input_types=[FloatTensorType, DoubleTensorType, Int64TensorType, Int32TensorType],
    )
    model = operator.raw_operator
    check_is_fitted(model)
    inverse = _inverse(operator.scope_inst, model)
    width_in, width_out = _widths(model, inverse)
    shape = operator.inputs[0].type.shape
    if len(shape) != 2:
        raise ValueError(
            f"{type(model).__name__} converts 2-D inputs (n_samples, n_features), got the "
            f"input shape {shape}."
        )
    if isinstance(shape[1], int | np.integer) and shape[1] != width_in:
        what = "codes of n_components" if inverse else "rows of n_features_in_"
        raise ValueError(
            f"{type(model).__name__} expects {what}={width_in} features, but the ONNX input "
            f"has {shape[1]}."
        )
    # The output keeps a float64 input's type, as skl2onnx's converters keep
    # their input's: the steps after it (a classifier) then compute in float64,
    # as scikit-learn does on skae's float32 codes.
    double = isinstance(operator.inputs[0].type, DoubleTensorType)
    output_type = DoubleTensorType if double else FloatTensorType
    operator.outputs[0].type = output_type([shape[0], width_out])


# ------------------------------------------------------------------ converter


def _convert(scope, operator, container):
    model = operator.raw_operator
    if container.target_opset is not None and container.target_opset < _OPSET:
        raise RuntimeError(
            f"skae's ONNX converters need target_opset >= {_OPSET}, got {container.target_opset}."
        )
    inverse = _inverse(container, model)
    graph = _Graph(scope, container)
    x = graph.as_float(operator.inputs[0])
    module = model.net_.module_
    out = decode(graph, module, x) if inverse else encode(graph, module, x)
    graph.as_type_of(out, operator.outputs[0])


def encode(graph, module, x):
    """The graph of ``module.encode`` in evaluation mode, from the input name ``x``."""
    if type(module) in (AutoencoderModule, JacobianProjectionModule):
        return graph.module(module.encoder, x)
    if type(module) is VariationalModule:
        # transform is the posterior mean: the encoder's first n_components outputs.
        h = graph.module(module.encoder, x)
        return graph.slice(h, 0, module.n_components, axis=1)
    raise NotImplementedError(_unsupported(module))


def decode(graph, module, z):
    """The graph of ``module.decode`` in evaluation mode, from the code name ``z``."""
    if type(module) in (AutoencoderModule, JacobianProjectionModule):
        out = graph.module(module.decoder, z)
        return graph.node("Sigmoid", [out]) if module.output_activation == "logistic" else out
    if type(module) is VariationalModule:
        out = graph.module(module.decoder, z)
        return graph.node("Sigmoid", [out]) if module.likelihood == "bernoulli" else out
    raise NotImplementedError(_unsupported(module))


def _unsupported(module):
    return (
        f"skae's ONNX converter has no translation for the torch module "
        f"{type(module).__module__}.{type(module).__qualname__}; it translates the networks "
        "skae builds (MLP, tied, convolutional, variational). Export a custom network with "
        "torch.onnx.export instead."
    )


_ACTIVATIONS = {nn.ReLU: "Relu", nn.Tanh: "Tanh", nn.Sigmoid: "Sigmoid", Logistic: "Sigmoid"}


class _Graph:
    """Writes ONNX nodes and initializers into a skl2onnx container."""

    def __init__(self, scope, container):
        self.scope = scope
        self.container = container

    # ------------------------------------------------------------ primitives

    def name(self, seed):
        return self.scope.get_unique_variable_name(f"skae_{seed}")

    def node(self, op_type, inputs, output=None, **attrs):
        output = output or self.name(op_type.lower())
        self.container.add_node(
            op_type,
            list(inputs),
            [output],
            op_version=_OPSET,
            name=self.scope.get_unique_operator_name(f"Skae{op_type}"),
            **attrs,
        )
        return output

    def constant(self, seed, array, dtype=np.float32):
        from onnx import TensorProto

        onnx_type = {np.float32: TensorProto.FLOAT, np.int64: TensorProto.INT64}[dtype]
        array = np.ascontiguousarray(array, dtype=dtype)
        name = self.name(seed)
        self.container.add_initializer(name, onnx_type, list(array.shape), array.ravel())
        return name

    def weight(self, seed, tensor):
        return self.constant(seed, tensor.detach().cpu().numpy())

    def as_float(self, variable):
        from onnx import TensorProto
        from skl2onnx.common.data_types import FloatTensorType

        if isinstance(variable.type, FloatTensorType):
            return variable.full_name
        return self.node("Cast", [variable.full_name], to=TensorProto.FLOAT)

    def as_type_of(self, x, variable):
        """Write ``x`` into ``variable``, cast from float32 to its type if needed."""
        from onnx import TensorProto
        from skl2onnx.common.data_types import DoubleTensorType

        if isinstance(variable.type, DoubleTensorType):
            return self.node("Cast", [x], output=variable.full_name, to=TensorProto.DOUBLE)
        return self.node("Identity", [x], output=variable.full_name)

    def slice(self, x, start, stop, axis):
        """``x[start:stop]`` along ``axis``."""
        bounds = [
            self.constant(seed, [value], np.int64)
            for seed, value in (("starts", start), ("ends", stop), ("axes", axis))
        ]
        return self.node("Slice", [x, *bounds])

    def reshape(self, x, shape):
        return self.node("Reshape", [x, self.constant("shape", [-1, *shape], np.int64)])

    # --------------------------------------------------------- torch modules

    def module(self, module, x):
        """The graph of ``module(x)`` in evaluation mode."""
        kind = type(module)
        if kind is nn.Identity:
            return x
        if isinstance(module, nn.Linear):
            # Also a parametrized layer (a WeightConstraint), whose weight
            # property is the constrained matrix.
            return self.linear(module, x)
        if kind in _ACTIVATIONS:
            return self.node(_ACTIVATIONS[kind], [x])
        if kind in (nn.Sequential, MLPEncoder, MLPDecoder):
            for child in module:
                x = self.module(child, x)
            return x
        translate = {
            nn.Linear: self.linear,
            TiedMLPDecoder: self.tied_decoder,
            LinearShortcut: self.shortcut,
            ConvEncoder: self.conv_encoder,
            ConvDecoder: self.conv_decoder,
            nn.Conv2d: self.conv,
            nn.ConvTranspose2d: self.conv_transpose,
            _Resize: self.resize,
        }.get(kind)
        if translate is None:
            raise NotImplementedError(_unsupported(module))
        return translate(module, x)

    def linear(self, layer, x):
        weight = self.weight("weight", layer.weight)
        inputs = [x, weight]
        if layer.bias is not None:
            inputs.append(self.weight("bias", layer.bias))
        return self.node("Gemm", inputs, transB=1)

    def tied_decoder(self, decoder, z):
        # F.linear(h, W.t(), b) is h @ W + b: Gemm without transposing.
        linears = decoder._encoder[0].linears[::-1]
        h = z
        for i, (layer, bias) in enumerate(zip(linears, decoder.biases, strict=True)):
            weight = self.weight("weight", layer.weight)
            h = self.node("Gemm", [h, weight, self.weight("bias", bias)])
            if i < len(linears) - 1:
                h = self.module(decoder.activation, h)
        return h

    def shortcut(self, shortcut, x):
        linear = self.linear(shortcut.linear, x)
        gate = float(shortcut.gate.detach().cpu())
        if gate == 0.0:
            # A closed gate (the network's correction dropped by early stopping):
            # the branch adds exactly zero, so it is left out of the graph.
            return linear
        branch = self.module(shortcut.branch, x)
        scaled = self.node("Mul", [branch, self.constant("gate", gate)])
        return self.node("Add", [linear, scaled])

    def conv_encoder(self, encoder, x):
        h = self.reshape(x, encoder.image_shape)
        h = self.node("Flatten", [self.module(encoder.convs, h)], axis=1)
        if encoder.pixel_path:
            h = self.node("Concat", [h, x], axis=1)
        h = self.module(encoder.dense, h)
        return self.module(encoder.code_activation, self.linear(encoder.code, h))

    def conv_decoder(self, decoder, z):
        dense = self.module(decoder.dense, z)
        h = self.module(decoder.linear_activation, self.linear(decoder.linear, dense))
        h = self.reshape(h, decoder.start_shape)
        h = self.node("Flatten", [self.module(decoder.stages, h)], axis=1)
        if decoder.pixels is not None:
            h = self.node("Add", [h, self.linear(decoder.pixels, dense)])
        return h

    def _conv_attributes(self, conv):
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise NotImplementedError(_unsupported(conv))
        pad_h, pad_w = conv.padding
        return {
            "kernel_shape": list(conv.kernel_size),
            "strides": list(conv.stride),
            "pads": [pad_h, pad_w, pad_h, pad_w],
            "dilations": list(conv.dilation),
            "group": conv.groups,
        }

    def _conv_inputs(self, conv, x):
        inputs = [x, self.weight("weight", conv.weight)]
        if conv.bias is not None:
            inputs.append(self.weight("bias", conv.bias))
        return inputs

    def conv(self, conv, x):
        return self.node("Conv", self._conv_inputs(conv, x), **self._conv_attributes(conv))

    def conv_transpose(self, conv, x):
        # torch's and ONNX's weight layouts agree: (in, out / groups, kh, kw).
        attributes = self._conv_attributes(conv)
        attributes["output_padding"] = list(conv.output_padding)
        return self.node("ConvTranspose", self._conv_inputs(conv, x), **attributes)

    def resize(self, resize, x):
        # Resize to a fixed (height, width), keeping the batch and channel sizes:
        # the sizes input is shape(x)[:2] followed by the target.
        shape = self.node("Shape", [x])
        leading = self.slice(shape, 0, 2, axis=0)
        target = self.constant("size", list(resize.size), np.int64)
        sizes = self.node("Concat", [leading, target], axis=0)
        if resize.mode == "nearest":
            # torch's "nearest" takes source index floor(dst * in / out).
            attributes = {
                "mode": "nearest",
                "coordinate_transformation_mode": "asymmetric",
                "nearest_mode": "floor",
            }
        elif resize.mode == "bilinear":
            # align_corners=False: pixel centres, (dst + 0.5) * in / out - 0.5.
            attributes = {"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"}
        else:
            raise NotImplementedError(_unsupported(resize))
        # Empty roi and scales tensors rather than absent inputs (""), which
        # skl2onnx's graph sorting cannot place; Resize then reads the sizes.
        roi = self.constant("roi", np.zeros(0))
        scales = self.constant("scales", np.zeros(0))
        return self.node("Resize", [x, roi, scales, sizes], **attributes)
