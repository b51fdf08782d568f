"""The command line's recording commands: fit a recording folder, sample a recording model."""

import os
import time
from pathlib import Path

from ._checks import UsageError, check_output, check_space, engine_params, one_line
from ..presets import get_preset


def read_recording(parser, name, folder):
    """The SpikeInterface binary recording folder ``folder``, or a usage error naming ``name``.

    Read by :func:`~mne_dualdiv.adapters.si_folders.read_recording_folder`, which never runs
    code from the folder (no pickle, no class named in its JSON is imported).
    """
    try:
        import spikeinterface.core  # noqa: F401 - the ephys extra

        from ..adapters.si_folders import read_recording_folder
    except ImportError:
        raise UsageError(parser, f"argument {name}: {folder} is a folder; recording folders "
                                 "need the 'ephys' extra (pip install 'mne_dualdiv[ephys]')"
                          ) from None
    try:
        return read_recording_folder(folder, name=f"argument {name}")
    except Exception as err:  # any reader error is a bad input folder
        raise UsageError(parser, one_line(err)) from None


def fit_recording(parser, args):
    """``mne-dualdiv fit`` of a SpikeInterface recording folder: a RecordingSynthesizer."""
    from .._checks import check_n_jobs

    if args.per_condition is False:
        raise UsageError(parser, "argument --no-per-condition: only for an epochs file; a "
                                 "recording folder has no conditions")
    model = check_output(parser, "MODEL", args.model, args.overwrite)
    n_jobs = check_n_jobs(args.n_jobs, "argument --n-jobs")  # checked by check_arguments
    recording = read_recording(parser, "IN", args.input)  # checked before the heavy imports
    from ..adapters.recording import RecordingSynthesizer
    from ..engine import DualDivergenceGenerator

    params = engine_params(args)
    settings = get_preset("fast" if args.quick else "default", kind="recording")
    print(f"Real recording: {recording.get_num_channels()} channels, "
          f"{recording.get_total_duration():.1f} s at {recording.sampling_frequency:g} Hz "
          f"from {args.input}")
    start = time.perf_counter()
    # The engine settings matter only for template_model="engine".
    synthesizer = RecordingSynthesizer(
        generator=DualDivergenceGenerator(**params) if params else None, n_jobs=n_jobs,
        random_state=args.seed, verbose=True if args.verbose else None, **settings,
    ).fit(recording)
    seconds = time.perf_counter() - start
    synthesizer.save(model, overwrite=args.overwrite)
    print(f"Found {synthesizer.peak_rate_:.1f} spikes/s and {synthesizer.n_real_units_} "
          f"unit(s); learned from {len(synthesizer.snippet_positions_)} spike snippets "
          f"({'units and background' if synthesizer.units_ is not None else 'background only'})"
          f" in {seconds:.0f} s")
    print(f"Saved the model to {model} (it holds the real units' templates: keep it private)")


def sample_recording(parser, args, synthesizer):
    """``mne-dualdiv sample`` of a recording model: a SpikeInterface binary folder."""
    from ..adapters.si_folders import check_folder_for_writing, write_recording_folder

    out = Path(args.output)
    given = [name for name, value in (("-n/--n-epochs", args.n_epochs), ("--ratio", args.ratio),
                                      ("--balance", args.balance or None)) if value is not None]
    if given:
        raise UsageError(parser, f"argument {given[0]}: only for an epochs model; a recording "
                                 "model takes --duration SECONDS")
    if args.duration is None:  # its value is checked by check_arguments
        raise UsageError(parser, "argument --duration: a recording model needs --duration "
                                 "SECONDS > 0")
    if os.path.lexists(out) and not args.overwrite:
        raise UsageError(parser, f"argument OUT: exists: {out} (pass --overwrite to replace "
                                 "it)")
    try:  # --overwrite replaces only a folder this command wrote, never anything else
        check_folder_for_writing(out, args.overwrite, name="argument OUT")
    except OSError as err:
        raise UsageError(parser, one_line(err)) from None
    check_space(parser, "--duration", out, args.duration * synthesizer.sampling_frequency_
                 * len(synthesizer.channel_ids_), synthesizer.dtype_.itemsize)
    start = time.perf_counter()
    synthetic = synthesizer.sample(args.duration, random_state=args.seed)
    write_recording_folder(synthetic, out, overwrite=args.overwrite, n_jobs=1,
                           progress_bar=bool(args.verbose))
    seconds = time.perf_counter() - start
    print(f"Made {args.duration:g} s of synthetic recording in {seconds:.0f} s")
    print(f"Saved {synthetic.get_num_channels()} channels to the SpikeInterface folder {out}")


def read_recording_model(model):
    """The RecordingSynthesizer in ``model``, or None when it holds something else."""
    try:
        from ..adapters.recording import read_recording_synthesizer
    except ImportError:  # no ephys extra: only epochs models can be read
        return None
    try:
        return read_recording_synthesizer(model)
    except Exception:  # not a recording model: the epochs reader gives the error
        return None


