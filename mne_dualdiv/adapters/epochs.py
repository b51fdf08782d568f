"""MNE Epochs in, synthetic Epochs out: :class:`EpochsSynthesizer` and :func:`augment`.

What survives, field by field, from the input ``Epochs`` to every synthetic ``EpochsArray``:

===================  ===================================================================
field                how
===================  ===================================================================
``info``             a copy of the input's: channel names, types and order, ``sfreq``,
                     ``dig``/montage, ``bads``, ``projs``, ``highpass``/``lowpass``,
                     description, device-to-head transform, ...; with a private
                     generator (``dp_epsilon``) the description gains a sentence giving
                     the release's epsilon, delta and privacy unit (``privacy_``)
data units           SI in, SI out: the engine scales every channel on its own robust
                     statistics and undoes it, so EEG (V), MEG magnetometers (T),
                     gradiometers (T/m) and EOG keep their physical units and scales
projectors           their active/inactive state; active ones are applied to the synthetic
                     data too, as they were to the real data
``tmin``, ``times``  the same
``baseline``         the same; applied to the synthetic data too
``event_id``         the same dictionary (also the conditions without epochs)
event codes          each synthetic epoch gets the code of its condition
event samples        unique: synthetic events follow the last real one, one epoch length
                     apart
``metadata``         real epochs keep their rows; every epoch gets a boolean column
                     ``synthetic`` (an existing boolean one, from an earlier ``augment``, is
                     kept; any other existing ``synthetic`` column is refused); a synthetic
                     row carries its condition in the columns that hold the event name
                     (``condition``, added when there is none) and missing values (NaN,
                     None, ``pd.NA``) everywhere else
``drop_log``         :func:`augment` keeps the real epochs' ``drop_log`` and ``selection``
===================  ===================================================================

Stimulus-like channels (``stim``, ``syst``, ``chpi``, ``exci``, ``ias``) are not synthesized:
they are zero in synthetic epochs. Reject/flat thresholds and annotations are not carried
over; the output is a new :class:`mne.EpochsArray`.

The checks of the input, the output's metadata, events and projectors, and the saved state are
in ``_epochs_input``, ``_epochs_output`` and ``_epochs_state``.
"""

import numpy as np
from sklearn.base import BaseEstimator

from .._checks import (check_device, check_fitted, check_fname_for_writing, check_n_jobs,
                       check_output_memory, check_random_state)
from .._docs import fill_doc
from .._io import load_state, save_state, state_json
from .._logging import logger, use_verbose
from ..engine import DualDivergenceGenerator
from ..engine.params import check_params
from ..engine.state import json_params
from ._epochs_privacy import (check_private_template, describe, epoch_subjects,
                              release_privacy)
from ._conditions import (POOLED, check_per_condition, check_template, fit_generators,
                          resolve_counts, sample_generators, sample_shared)
from ._epochs_input import (check_epochs, check_not_empty, event_names, metadata_layout,
                            synthesized_picks)
from ._epochs_output import (CONDITION_COLUMN, SYNTHETIC_COLUMN,  # noqa: F401 - public names
                             metadata_with_markers, synthetic_metadata, to_epochs_array)
from ._epochs_state import (FORMAT, FORMAT_VERSION, check_format, check_layout, generator_states,
                            info_from_state, layout_attributes, layout_fields, pack_state)


@fill_doc
class EpochsSynthesizer(BaseEstimator):
    """Learn MNE epochs per condition and make synthetic epochs that look like them.

    One :class:`~mne_dualdiv.DualDivergenceGenerator` is fitted per condition of ``event_id``
    (or one shared by all conditions, for small cohorts), on the epochs' data in SI units; synthetic epochs come back as an
    :class:`mne.EpochsArray` built from a copy of the input's ``info``. The module docstring of
    ``mne_dualdiv.adapters.epochs`` lists what survives.

    Parameters
    ----------
    generator : None | DualDivergenceGenerator
        Engine settings, as an unfitted generator used as a template (it is cloned per
        condition and never fitted itself; its ``random_state`` is replaced by seeds drawn from
        ``random_state``). ``None`` uses the engine's defaults. The settings are reachable as
        ``generator__<name>`` by ``get_params`` / ``set_params``.
    per_condition : 'auto' | bool
        ``True`` fits one generator per condition of ``event_id``. ``False`` fits one generator
        on all epochs, a shared dual space, and draws each condition's epochs with that
        condition's walk statistics (its own Gaussian, its members' dual values:
        :meth:`~mne_dualdiv.DualDivergenceGenerator.sample` with ``subset``), so that every
        synthetic epoch belongs to the condition it was sampled for either way; each condition
        needs at least 2 epochs. ``'auto'`` (default) chooses per condition when every
        condition has at least ``MIN_PER_CONDITION`` = 20 epochs and the shared space
        otherwise (``per_condition_``; ``docs/method.md``, "Small cohorts").
    random_state : None | int | numpy.random.Generator
        Seed of ``fit`` (one seed per condition is drawn from it).
    %(n_jobs_conditions)s Every
        worker holds its own copy of torch and of its condition's data: on 2 cores,
        ``augment`` on FingerMovements took 195 s and 2.4 GB with ``n_jobs=2`` against 217 s
        and 1.3 GB with one process of two threads (``docs/epochs.md``).
    %(device_template)s
    %(verbose_template)s

    Attributes
    ----------
    generators_ : dict
        Fitted generator per condition name (one entry ``'__all__'`` in a shared space).
    per_condition_ : bool
        Whether ``fit`` fitted one generator per condition (``per_condition``'s choice).
    conditions_ : list of str
        Conditions that had epochs in ``fit``, in the order of ``event_id``.
    n_epochs_ : dict
        Number of real epochs per condition.
    event_id_ : dict
        The input's ``event_id``.
    info_ : mne.Info
        A copy of the input's ``info``.
    tmin_ : float
        Time of the first sample.
    n_times_ : int
        Samples per epoch.
    baseline_ : None | tuple
        The input's baseline interval.
    last_event_sample_ : int
        Largest event sample of the input; synthetic events are placed after it.

    See Also
    --------
    augment : Fit and sample in one call, real epochs included.
    read_epochs_synthesizer : Read a synthesizer written by :meth:`save`.
    DualDivergenceSampler : The same on arrays, inside a cross-validation fold.

    Notes
    -----
    The engine scales every channel by its own median and inter-quartile range, so channel
    types with very different units (EEG in V, magnetometers in T, gradiometers in T/m, EOG)
    need no manual scaling, and the samples come back in the input's units. A generator of
    fewer than 20 epochs holds out 2 of them instead of 5 (the engine's small-sample split);
    it needs at least 5, and the error for fewer names the condition.
    """

    def __init__(self, generator=None, per_condition="auto", random_state=None, n_jobs=None,
                 device=None, verbose=None):
        self.generator = generator
        self.per_condition = per_condition
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    def fit(self, epochs, y=None, groups=None):
        """Fit one generator per condition (or one on all epochs).

        Parameters
        ----------
        epochs : mne.Epochs | list of mne.Epochs
            Real epochs, preloaded or not; a list must share one ``info`` (channels, ``sfreq``,
            times, baseline, bads, filters, projectors) and is concatenated. Never modified.
        y : None
            Ignored; the conditions come from ``epochs.events`` and ``epochs.event_id``.
        groups : None | str | array-like, shape (n_epochs,)
            Subjects (one per epoch, or a column of ``epochs.metadata``): with a private
            ``generator`` (``dp_epsilon``), the guarantee is per subject and covers every
            condition's generator together (``privacy_``). Unused otherwise.

        Returns
        -------
        self : EpochsSynthesizer
            The fitted synthesizer.
        """
        template = check_template(self.generator)
        check_n_jobs(self.n_jobs)
        if self.device is not None:
            check_device(self.device)
        rng = check_random_state(self.random_state)
        with use_verbose(self.verbose):
            epochs = check_epochs(epochs)
            names = event_names(epochs)
            self.event_id_ = dict(epochs.event_id)
            self.conditions_ = [name for name in self.event_id_ if np.any(names == name)]
            self.n_epochs_ = {name: int(np.sum(names == name)) for name in self.conditions_}
            self._remember_epochs(epochs, names)
            per_condition = check_per_condition(
                check_private_template(template, self.per_condition), self.n_epochs_)
            data = epochs.get_data()[:, self.picks_]
            logger.info("Fitting %s on %d epochs of %d channels x %d times (%s)",
                        "one generator per condition" if per_condition
                        else "one shared dual space", len(epochs), data.shape[1],
                        data.shape[2], ", ".join(f"{k}: {v}" for k, v in self.n_epochs_.items()))
            fitted_conditions = self.conditions_ if per_condition else [POOLED]
            self.generators_ = fit_generators(data, names.astype(str), fitted_conditions,
                                              template, rng, self.verbose, n_jobs=self.n_jobs,
                                              device=self.device,
                                              groups=epoch_subjects(epochs, groups))
            self.info_ = describe(self.info_, self.privacy_)
            self.per_condition_ = per_condition
            self._labels = None if per_condition else names.astype(str)
        return self

    def _remember_epochs(self, epochs, names):
        """Keep what ``sample`` needs to rebuild Epochs like the input."""
        self.info_ = epochs.info.copy()
        self.tmin_ = float(epochs.tmin)
        self.n_times_ = len(epochs.times)
        self.baseline_ = None if epochs.baseline is None else tuple(
            None if b is None else float(b) for b in epochs.baseline)
        self.last_event_sample_ = int(epochs.events[:, 0].max())
        self.picks_ = synthesized_picks(epochs.info)
        self._condition_columns, self._added_condition, self._metadata_dtypes = (
            metadata_layout(epochs.metadata, names))

    def _check_fitted(self, what):
        check_fitted(self, "generators_", what, fit_call="fit(epochs)")

    @property
    def privacy_(self):
        """None, or the (epsilon, delta) a release of private generators spends, per epoch
        or per subject, and how the generators compose (``docs/privacy.md``)."""
        return release_privacy(self.generators_)

    # ------------------------------------------------------------------ sample
    def sample(self, n_epochs, random_state=None, verbose=None):
        """Make synthetic epochs.

        Parameters
        ----------
        n_epochs : int | float | dict | 'balance'
            An int is a total, split like the real epochs' condition proportions; a float a
            ratio of each condition's real count (``1.0``: as many as the real ones); a dict
            maps condition names to counts; ``'balance'`` tops every condition up to the
            largest. It must ask for at least one epoch
            in total: ``0``, a ratio that rounds to 0 for every condition, a dict of zeros or
            ``'balance'`` on balanced conditions raise a ``ValueError`` naming ``n_epochs``
            (an ``EpochsArray`` cannot be empty).
        random_state : None | int | numpy.random.Generator
            Seed of the walks; the same seed gives the same epochs.
        verbose : None | bool | str | int
            Logging level; ``None`` keeps the synthesizer's.

        Returns
        -------
        synthetic : mne.EpochsArray
            The synthetic epochs, grouped by condition in the order of ``event_id``, with the
            input's ``info``, ``tmin``, ``baseline``, ``event_id`` and metadata columns (see
            the module docstring), ``metadata["synthetic"]`` all True.
        """
        self._check_fitted("sample")
        rng = check_random_state(random_state)
        check_not_empty(resolve_counts(n_epochs, self.n_epochs_, "n_epochs"),
                         "n_epochs")
        with use_verbose(self.verbose if verbose is None else verbose):
            data, names = self._sample_arrays(n_epochs, rng)
            metadata = self._synthetic_metadata(names)
            return self._to_epochs(data, names, metadata, self.last_event_sample_)

    def _sample_arrays(self, n_epochs, rng, name="n_epochs"):
        """Synthetic data of all channels, shape (n, n_channels, n_times), and conditions."""
        counts = resolve_counts(n_epochs, self.n_epochs_, name)
        total = sum(counts.values())
        # The walks' output, the epochs' array with every channel, and the Epochs' own copy.
        check_output_memory(name, n_epochs, 3 * total * self.info_["nchan"] * self.n_times_ * 8,
                            f"need three arrays of {total} epochs of {self.info_['nchan']} x "
                            f"{self.n_times_} float64 values")
        if self.per_condition_:
            signals, names = sample_generators(self.generators_, counts, rng,
                                               n_jobs=self.n_jobs)
        else:
            signals, names = sample_shared(self.generators_[POOLED], self._labels, counts, rng,
                                           n_jobs=self.n_jobs)
        data = np.zeros((len(signals), self.info_["nchan"], self.n_times_))
        data[:, self.picks_] = signals
        logger.info("Made %d synthetic epochs (%s)", len(names), ", ".join(
            f"{c}: {names.count(c)}" for c in self.conditions_))
        return data, list(names)

    def _synthetic_metadata(self, names):
        """Metadata of synthetic epochs: condition and ``synthetic`` known, the rest missing."""
        return synthetic_metadata(names, self._metadata_dtypes, self._condition_columns,
                                  self._added_condition)

    def _to_epochs(self, data, names, metadata, after_sample, selection=None, drop_log=None,
                   real_events=None):
        """Wrap data (real then synthetic) in an EpochsArray like the input."""
        layout = dict(info=self.info_, event_id=self.event_id_, tmin=self.tmin_,
                      n_times=self.n_times_, baseline=self.baseline_)
        return to_epochs_array(data, names, metadata, layout, after_sample, selection=selection,
                               drop_log=drop_log, real_events=real_events)

    # ------------------------------------------------------------------ I/O
    def _get_state(self):
        self._check_fitted("save")
        params = dict(per_condition=self.per_condition, verbose=self.verbose, n_jobs=self.n_jobs,
                      random_state=self.random_state if isinstance(self.random_state, int)
                      else None, device=None if self.device is None else str(self.device))
        template = json_params(check_template(self.generator).get_params())
        return pack_state(params, template, layout_fields(vars(self)), self.info_,
                          {name: g.get_state() for name, g in self.generators_.items()})

    @classmethod
    def _from_state(cls, state):
        check_format(state, cls.__name__)
        params = state_json(state, "params", dict)
        template = DualDivergenceGenerator(**state_json(state, "template", dict))
        self = cls(generator=template, **params)
        if self.device is not None:  # the spelling: the device is checked where it is used
            check_device(self.device, available=False)
        fields = state_json(state, "epochs", dict)
        generators = generator_states(state)
        self.info_ = info_from_state(state)
        for name, value in layout_attributes(fields).items():
            setattr(self, name, value)
        self.generators_ = {
            name: DualDivergenceGenerator.from_state(generator_state)
            for name, generator_state in generators
        }
        self.per_condition_ = (POOLED not in self.generators_ if self.per_condition == "auto"
                               else bool(self.per_condition))
        check_layout(self.info_, self.picks_, self.n_times_, self.event_id_, self.conditions_,
                     self.n_epochs_, self.per_condition_, self.generators_)
        return self

    @fill_doc
    def save(self, fname, overwrite=False):
        """Write the fitted synthesizer to a file that reading never executes.

        One ``torch.save`` archive holds every condition's generator, the input's ``info``
        (as FIF bytes) and the epoch layout; read it back with :func:`read_epochs_synthesizer`.

        %(save_notes)s

        %(save_parameters)s
        """
        save_state(self._get_state(), check_fname_for_writing(fname, overwrite),
                   overwrite=overwrite)


@fill_doc
def read_epochs_synthesizer(fname):
    """Read an :class:`EpochsSynthesizer` written by :meth:`EpochsSynthesizer.save`.

    %(read_parameters)s

    Returns
    -------
    synthesizer : EpochsSynthesizer
        The fitted synthesizer; ``sample`` with the same seed gives the same epochs as the
        saved one.

    %(read_raises)s
    """
    return load_state(fname, FORMAT, FORMAT_VERSION, rebuild=EpochsSynthesizer._from_state)


# ---------------------------------------------------------------------------------- augment
@fill_doc
def augment(epochs, n_synthetic=1.0, include_original=True, per_condition="auto",
            random_state=None, n_jobs=None, verbose=None, **params):
    """Add synthetic epochs to real ones.

    Fits an :class:`EpochsSynthesizer` on ``epochs`` and samples from it. Augmenting before
    cross-validation leaks the test folds into the training data: inside a cross-validation,
    use :class:`~mne_dualdiv.DualDivergenceSampler` in an imbalanced-learn pipeline instead.

    Parameters
    ----------
    epochs : mne.Epochs | list of mne.Epochs
        Real epochs (preloaded or not; a list must share one ``info``). Never modified.
    n_synthetic : int | float | dict | 'balance'
        How many synthetic epochs: a float is a ratio of each condition's count (``1.0``, the
        default, doubles every condition); an int a total split like the condition
        proportions; a dict a count per condition name; ``'balance'`` tops every condition up
        to the largest. When it asks for no epoch at all (``0``, a ratio that rounds to 0,
        a dict of zeros, ``'balance'`` on balanced conditions), nothing is fitted and the real
        epochs are returned alone (with ``metadata["synthetic"]`` all False); with
        ``include_original=False`` that is a ``ValueError`` naming ``n_synthetic``.
    include_original : bool
        Return the real epochs followed by the synthetic ones (True), or the synthetic ones
        only.
    per_condition : 'auto' | bool
        One generator per condition (True), one shared dual space whose walks draw each
        condition from its own statistics (False), or the first when every condition has at
        least 20 epochs and the second otherwise ('auto', default); see
        :class:`EpochsSynthesizer`.
    random_state : None | int | numpy.random.Generator
        Seed of fitting and sampling; the same seed gives the same epochs.
    %(n_jobs_conditions)s
    verbose : None | bool | str | int
        Logging level.
    **params
        Engine settings passed to :class:`~mne_dualdiv.DualDivergenceGenerator`
        (``max_steps``, ``n_bridges``, ``walk_steps``, ``device``, ...).

    Returns
    -------
    augmented : mne.EpochsArray
        The real epochs (with their events, ``drop_log`` and ``selection``) followed by the
        synthetic epochs, all with the input's ``info``, ``tmin``, ``baseline`` and
        ``event_id``; ``metadata["synthetic"]`` tells them apart.

    See Also
    --------
    EpochsSynthesizer : To fit once and sample several times, or to save the model.
    """
    check_n_jobs(n_jobs)
    if not isinstance(include_original, bool):
        raise TypeError(f"include_original must be a bool, got "
                        f"{type(include_original).__name__} instead.")
    rng = check_random_state(random_state)
    synthesizer = EpochsSynthesizer(generator=DualDivergenceGenerator(**params),
                                    per_condition=per_condition, random_state=rng,
                                    n_jobs=n_jobs, verbose=verbose)
    with use_verbose(verbose):
        real = check_epochs(epochs)
        real_names = event_names(real)
        # Check the count (and the engine settings) before the long fit.
        counts = {name: int(np.sum(real_names == name)) for name in real.event_id
                  if np.any(real_names == name)}
        n_per_condition = resolve_counts(n_synthetic, counts, "n_synthetic")
        check_params(synthesizer.generator.get_params())
        if not include_original:
            check_not_empty(n_per_condition, "n_synthetic")
        if sum(n_per_condition.values()) == 0:
            # Nothing to synthesize (say 'balance' on balanced conditions): no fit is needed.
            logger.info("n_synthetic=%r asks for no synthetic epochs: returning the real "
                        "epochs only", n_synthetic)
            synthesizer.event_id_ = dict(real.event_id)
            synthesizer._remember_epochs(real, real_names)
            data, names = np.empty((0, real.info["nchan"], len(real.times))), []
        else:
            synthesizer.fit(real)
            data, names = synthesizer._sample_arrays(n_synthetic, rng, "n_synthetic")
        synthetic_metadata = synthesizer._synthetic_metadata(names)
        if not include_original:
            return synthesizer._to_epochs(data, names, synthetic_metadata,
                                          synthesizer.last_event_sample_)
        import pandas as pd

        metadata = pd.concat([metadata_with_markers(real.metadata, real_names,
                                                     synthesizer._added_condition),
                              synthetic_metadata], ignore_index=True)
        n_log = len(real.drop_log)
        return synthesizer._to_epochs(
            np.concatenate([real.get_data(), data]), list(real_names) + names, metadata,
            synthesizer.last_event_sample_,
            selection=np.concatenate([real.selection, n_log + np.arange(len(names))]),
            drop_log=tuple(real.drop_log) + ((),) * len(names),
            real_events=real.events.copy())
