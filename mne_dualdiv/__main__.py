"""The main job: augment the bundled FingerMovements EEG epochs and save them as ``-epo.fif``."""

import argparse
import time

import numpy as np

#: Engine settings of ``--quick``: a fit of seconds per condition, for trying the pipeline out.
QUICK = dict(max_steps=60, n_bridges=1, eval_every=30, patience=1, n_eval_draws=2,
             n_local_draws=4, hidden=32, n_filters=8)


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m mne_dualdiv",
        description=(
            "Load the bundled FingerMovements EEG epochs (BCI Competition II data set IV, "
            "316 training epochs, 28 channels x 50 samples at 100 Hz, left/right), add "
            "synthetic epochs made by dual-divergence sampling (one generator per condition), "
            "print what was made and save real + synthetic epochs to an MNE -epo.fif file."
        ),
    )
    parser.add_argument("--out", default="finger_movements_augmented-epo.fif",
                        help="output file, ending in -epo.fif (default: %(default)s)")
    parser.add_argument("--ratio", type=float, default=1.0,
                        help="synthetic epochs per real epoch of each condition "
                             "(default: %(default)s)")
    parser.add_argument("--split", choices=("train", "test", "all"), default="train",
                        help="which FingerMovements epochs to augment (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="small engine settings (seconds instead of minutes; lower quality)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument("--verbose", action="store_true", help="log the engine's progress")
    return parser


def main(argv=None):
    """Run the main job; ``argv`` defaults to the command line.

    Parameters
    ----------
    argv : list of str | None
        Command-line arguments (``--help`` lists them).

    Returns
    -------
    status : int
        0 on success (the exit status of the ``mne-dualdiv`` command).
    """
    args = _parser().parse_args(argv)
    from . import augment
    from ._checks import check_fname_for_writing
    from .datasets import load_finger_movements

    out = check_fname_for_writing(args.out, args.overwrite, name="--out")
    epochs = load_finger_movements(split=args.split)
    print(f"Real epochs: {len(epochs)} FingerMovements '{args.split}' epochs, "
          f"{len(epochs.ch_names)} EEG channels x {len(epochs.times)} samples at "
          f"{epochs.info['sfreq']:g} Hz "
          f"({', '.join(f'{k}: {len(epochs[k])}' for k in epochs.event_id)})")
    params = dict(QUICK) if args.quick else {}
    print(f"Engine settings: {params or 'defaults'}; ratio {args.ratio}; seed {args.seed}")
    start = time.perf_counter()
    augmented = augment(epochs, n_synthetic=args.ratio, random_state=args.seed,
                        verbose=True if args.verbose else None, **params)
    seconds = time.perf_counter() - start
    synthetic = augmented.metadata["synthetic"].to_numpy(bool)
    counts = augmented.metadata.loc[synthetic, "condition"].value_counts()
    real_data, synthetic_data = augmented.get_data()[~synthetic], augmented.get_data()[synthetic]
    print(f"Made {synthetic.sum()} synthetic epochs in {seconds:.0f} s "
          f"({', '.join(f'{k}: {counts.get(k, 0)}' for k in epochs.event_id)})")
    print(f"Amplitude (median |x|): real {1e6 * np.median(np.abs(real_data)):.2f} µV, synthetic "
          f"{1e6 * np.median(np.abs(synthetic_data)):.2f} µV")
    print(augmented)
    augmented.save(out, overwrite=args.overwrite, verbose=False)
    print(f"Saved {len(augmented)} epochs ({(~synthetic).sum()} real + {synthetic.sum()} "
          f"synthetic, metadata column 'synthetic') to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
