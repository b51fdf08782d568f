"""The recording synthesizer's template model: the dual-divergence engine against a Gaussian.

Issue 17 asks that the engine be used for unit templates only where it measurably beats the
simplest model that could replace it: a Gaussian in the snippets' principal subspace. For each
case and seed this fits two :class:`~mne_dualdiv.adapters.recording.RecordingSynthesizer`
(``template_model="gaussian"`` and ``"engine"``, otherwise identical, on the first 45 s of a
60 s ground-truth recording), draws the units of ``--draws`` synthetic recordings from each
(the recordings are lazy: only their units are drawn, nothing is written), and measures

- ``fit_s``: fit time (one BLAS/torch thread);
- ``kept``: units drawn per unit asked for (the guard and the single-peak check refuse the
  rest; below 1 the model's samples sit too close to the real units or are malformed);
- the KS distance of each waveform feature (trough-to-peak width, half width, repolarisation,
  spatial spread; ``recording_fidelity.shape_features``) between the generated units and the
  real ground-truth units, and their mean: how well the population of shapes is reproduced;
- ``to_real``: the median best similarity of a generated unit to any real unit (spike band).

Cases: ``hard32`` (10 heterogeneous units) and ``np384`` (50 units, Neuropixels 1.0 geometry)
from :func:`mne_dualdiv.datasets.simulate_recording`; ``si32`` (SpikeInterface's look-alike
units). One JSON line per (case, model, seed); ``--markdown`` writes the summary table.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recording_templates.py --cases hard32 si32 \\
        --seeds 0 1 2 --jsonl benchmarks/results/recording_templates.jsonl
    .venv/bin/python benchmarks/recording_templates.py \\
        --from-jsonl benchmarks/results/recording_templates.jsonl --markdown docs/recording_templates.md
"""

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recording_fidelity import make_real, measured_commit, shape_features  # noqa: E402

MODELS = ("gaussian", "engine")
FEATURES = ("width_ms", "half_width_ms", "repolarisation", "spread_um")


def measure(case, seed, model, duration, draws):
    """One row: fit one synthesizer with ``model`` and measure the units it draws."""
    from scipy.stats import ks_2samp

    from mne_dualdiv.adapters.recording import RecordingSynthesizer, spikes
    from mne_dualdiv.adapters.recording.privacy import templates_from_sorting

    real, truth = make_real(case, duration, seed)
    start = time.perf_counter()
    synthesizer = RecordingSynthesizer(template_model=model, fit_duration=0.75 * duration,
                                       random_state=seed).fit(real)
    fit_s = time.perf_counter() - start
    fs = real.sampling_frequency
    rows = synthesizer.units_.row_distances
    real_images = templates_from_sorting(
        spikes.spike_band(real, freq_min=spikes.TEMPLATE_FREQ_MIN), truth,
        synthesizer.neighbours_, synthesizer.nbefore_, synthesizer.nafter_)[0]
    asked, images, similarity = 0, [], []
    start = time.perf_counter()
    for draw in range(draws):
        units = synthesizer.sample(1.0, random_state=1000 * seed + draw + 1).units
        asked += synthesizer.n_real_units_
        images.append(units.images)
        similarity.append(units.similarity)
    draw_s = (time.perf_counter() - start) / draws
    images = np.concatenate(images)
    real_f, synthetic_f = (shape_features(x, fs, rows) for x in (real_images, images))
    ks = {f"ks_{k}": float(ks_2samp(real_f[k], synthetic_f[k]).statistic) for k in FEATURES}
    return dict(case=case, seed=seed, model=model, commit=measured_commit(), duration=duration,
                real_units=len(real_images), clusters=synthesizer.n_real_units_,
                asked=asked, drawn=len(images), kept=len(images) / max(asked, 1),
                fit_s=fit_s, draw_s=draw_s, ks_mean=float(np.mean(list(ks.values()))),
                to_real=float(np.median(np.concatenate(similarity))),
                guard=synthesizer.units_.guard, **ks,
                **{f"median_{k}_real": float(np.median(real_f[k])) for k in FEATURES},
                **{f"median_{k}_{model}": float(np.median(synthetic_f[k])) for k in FEATURES})


def markdown(rows, command):
    """Mean (min-max over seeds) of each figure per case and model."""
    figures = [("fit (s)", "fit_s", ".0f"), ("drawing units (s per recording)", "draw_s", ".1f"),
               ("units kept per unit asked", "kept", ".2f"),
               ("mean KS of the shape features (lower is better)", "ks_mean", ".2f")]
    figures += [(f"KS {k}", f"ks_{k}", ".2f") for k in FEATURES]
    figures += [("median similarity to the nearest real unit", "to_real", ".3f"),
                ("guard", "guard", ".3f")]
    keys = sorted({(r["case"], r["model"]) for r in rows}, key=lambda c: (c[0], MODELS.index(c[1])))
    out = ["# Template model: the engine against a Gaussian", "",
           f"Generated by `{command}` on {datetime.date.today()} from rows measured at "
           f"commit(s) {', '.join(sorted({r['commit'][:10] for r in rows}))}; one row per "
           "figure, mean over seeds (min-max). Real units: the ground truth's templates; "
           "generated units: those of every drawn recording.", "",
           "| figure | " + " | ".join(f"{c} {m} (seeds: {sum(1 for r in rows if (r['case'], r['model']) == (c, m))})"
                                      for c, m in keys) + " |",
           "|---" * (len(keys) + 1) + "|"]
    for name, key, spec in figures:
        cells = []
        for case, model in keys:
            values = np.array([r[key] for r in rows if (r["case"], r["model"]) == (case, model)])
            cell = format(values.mean(), spec)
            if len(values) > 1:
                cell += f" ({format(values.min(), spec)}-{format(values.max(), spec)})"
            cells.append(cell)
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["hard32"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--jsonl", default=None, help="append the rows to this file")
    parser.add_argument("--from-jsonl", nargs="+", default=None,
                        help="only render the table from rows saved earlier")
    parser.add_argument("--markdown", default=None, help="write the table to this file")
    args = parser.parse_args()
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    rows = []
    measured_commit()  # the code imported now, whatever is committed while the cases run
    if args.from_jsonl:
        for path in args.from_jsonl:
            rows += [json.loads(line) for line in Path(path).read_text().splitlines() if line]
    else:
        with threadpool_limits(1):
            for case in args.cases:
                for seed in args.seeds:
                    for model in args.models:
                        row = measure(case, seed, model, args.duration, args.draws)
                        print(json.dumps(row), flush=True)
                        rows.append(row)
                        if args.jsonl:
                            with open(args.jsonl, "a") as f:
                                f.write(json.dumps(row) + "\n")
    table = markdown(rows, "python benchmarks/recording_templates.py " + " ".join(sys.argv[1:]))
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table)


if __name__ == "__main__":
    main()
