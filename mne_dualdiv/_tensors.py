"""The tensors a model file may hold: their dtypes, dense storages of their own, finite values.

:func:`own_storages` makes every tensor of a state safe to write, :func:`tensor_problem` says
why a read tensor is refused (:func:`mne_dualdiv._io.load_state` checks every tensor of a file
with it) and :func:`state_tensors` checks a state's dict of tensors when it is rebuilt.
"""

import copy

import torch

#: The only tensor dtypes a model file may hold (no complex, quantized or sparse tensors).
TENSOR_DTYPES = (torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
                 torch.float16, torch.float32, torch.float64)


def own_storages(content):
    """``content`` with every tensor dense, contiguous and owning exactly its storage.

    The reader refuses any other tensor (:func:`tensor_problem`); a view saved as it is would
    also carry its whole base storage into the file.
    """
    if isinstance(content, torch.Tensor):
        if content.dtype not in TENSOR_DTYPES:
            raise TypeError(f"A tensor of dtype {content.dtype} cannot be saved: model files "
                            f"hold {', '.join(str(d) for d in TENSOR_DTYPES)} only.")
        return content if tensor_problem(content, None) is None else content.contiguous().clone()
    if not isinstance(content, (dict, list, tuple)):
        return content
    keys = content.keys() if isinstance(content, dict) else range(len(content))
    fixed = {key: own_storages(content[key]) for key in keys}
    if all(fixed[key] is content[key] for key in keys):
        return content  # unchanged, attributes included (a state_dict's ``_metadata``)
    if isinstance(content, dict):
        changed = copy.copy(content)
        changed.update(fixed)
        return changed
    return type(content)(fixed.values())


def tensor_problem(tensor, file_size):
    """Why ``tensor`` may not come from a model file, or None."""
    if tensor.dtype not in TENSOR_DTYPES:
        return f"has the dtype {tensor.dtype}, which model files never hold"
    if tensor.layout != torch.strided or tensor.device.type != "cpu":
        return f"is a {tensor.layout} tensor on {tensor.device}, not a dense CPU tensor"
    nbytes = tensor.untyped_storage().nbytes()
    size = tensor.numel() * tensor.element_size()
    if not tensor.is_contiguous() or tensor.storage_offset() != 0 or nbytes != size:
        return (f"is a view of shape {tuple(tensor.shape)}, strides {tensor.stride()} and "
                f"offset {tensor.storage_offset()} on a storage of {nbytes} bytes instead of "
                f"a tensor of its own ({size} bytes): stride-0, overlapping or partial views "
                "let a few bytes stand for much more data, and mne_dualdiv never writes them")
    if file_size is not None and nbytes > file_size:
        return f"uses {nbytes} bytes of storage in a file of {file_size} bytes"
    return None


def state_tensors(state, key):
    """``state[key]``, checked to be a dict of tensors whose float values are all finite."""
    if key not in state:
        raise KeyError(key)
    tensors = state[key]
    if not isinstance(tensors, dict):
        raise TypeError(f"entry {key!r} must be a dict of tensors, got "
                        f"{type(tensors).__name__}.")
    for name, tensor in tensors.items():
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{key}[{name!r}] must be a tensor, got {type(tensor).__name__}.")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"{key}[{name!r}] holds NaN or infinite values.")
    return tensors
