"""Parameter descriptions shared by several docstrings, written once (MNE's ``docdict``)."""

import re

#: Descriptions by name, unindented (continuation lines indented relative to the first);
#: :func:`fill_doc` indents them to their placeholder's line. The one dictionary of the
#: package: engine, adapters, metrics and baselines take their shared descriptions from here.
docdict = {}

# ---------------------------------------------------------------------- read/write and fit
docdict["save_parameters"] = """Parameters
----------
fname : str | path-like
    Destination, conventionally ending in ``.pt``.
overwrite : bool
    Replace an existing file."""
docdict["save_notes"] = """The file holds tensors, numbers and JSON strings only, and a SHA-256 digest of them that
reading verifies (with ``torch.load(weights_only=True)``), so that reading never executes
code. It is written to a temporary name in the destination's folder and renamed when
complete, so that an error never leaves a partial file (nor touches an existing one)."""
docdict["read_parameters"] = """Parameters
----------
fname : str | path-like
    The file."""
docdict["read_raises"] = """Raises
------
mne_dualdiv.InvalidFileError
    When the file is empty, truncated, damaged (its digest does not match), not a saved
    object of this kind, written by a newer version, or inconsistent (invalid parameters,
    sizes that disagree)."""
docdict["fit_parameters"] = """Parameters
----------
X : array-like, shape (n_samples, n_channels, n_times)
    Real samples in any units (they are robustly scaled per channel). Not modified.
y : None
    Ignored; present for scikit-learn compatibility."""
docdict["show"] = """show : bool
    Call ``plt.show()``."""

# ---------------------------------------------------------------------- logging
docdict["verbose_template"] = """verbose : None | bool | str | int
    Logging level; ``None`` keeps the template generator's."""
docdict["verbose_fit"] = """verbose : None | bool | str
    Logging level while fitting."""
docdict["verbose_current"] = """verbose : None | bool | str | int
    Logging level; ``None`` keeps the current one."""

# ---------------------------------------------------------------------- metrics
docdict["train_heldout_synthetic"] = """train, heldout, synthetic : array-like, shape (n, n_channels, n_times) | mne.Epochs
    Real training, real held-out and synthetic samples."""
docdict["random_state_train_synthetic"] = """random_state : None | int | numpy.random.Generator
    Seed of the subsampling that gives the training and synthetic sets the same size."""
docdict["random_state_common_size"] = """random_state : None | int | numpy.random.Generator
    Seed of the subsampling to a common size."""

# ---------------------------------------------------------------------- privacy
docdict["privacy_sets"] = """members : array-like, shape (n_members, n_channels, n_times) | mne.Epochs
    The real samples the generator was fitted on.
nonmembers : array-like, shape (n_nonmembers, n_channels, n_times) | mne.Epochs
    Real samples from the same pool that the generator never saw, none equal to a member
    (the same-pool protocol: ``docs/privacy.md``).
synthetic : array-like, shape (n_synthetic, n_channels, n_times) | mne.Epochs
    Generated samples, in the same units."""
docdict["subject_groups"] = """groups : array-like, shape (n_real,) | str
    The subject of every real epoch, or the name of the column of ``real.metadata`` that
    holds it (``real`` must then be an :class:`mne.Epochs`; a ``synthetic`` Epochs whose
    metadata has that column without missing values gives ``synthetic_groups``)."""

# ---------------------------------------------------------------------- the engine
docdict["device"] = """device : 'auto' | 'cpu' | 'cuda' | 'cuda:<index>' | torch.device
    Where the networks train and sample: ``'auto'`` (default) takes CUDA when it is
    available and the CPU otherwise. Random numbers are drawn on the CPU whatever the device
    and the fitted networks are kept on the CPU, so that a model fitted on a GPU samples on a
    CPU (and the other way round) to float tolerance. A CUDA device on a machine without
    CUDA is a ``RuntimeError`` when ``fit`` or ``sample`` runs."""
docdict["device_template"] = """device : None | str | torch.device
    Where the generators train and sample: ``'auto'``, ``'cpu'``, ``'cuda'``,
    ``'cuda:<index>'`` or a :class:`torch.device`
    (:class:`~mne_dualdiv.DualDivergenceGenerator`'s ``device``); ``None`` keeps the
    template generator's."""
docdict["n_jobs_conditions"] = """n_jobs : None | int
    Conditions fitted and sampled in parallel through :class:`joblib.Parallel`: ``None`` one
    after the other in this process, or, inside ``with joblib.parallel_backend(...)``, on
    that backend's workers (all of a ``dask.distributed`` cluster's with ``'dask'``:
    ``docs/scale.md``); ``-1`` every CPU core. Workers run at most ``cpu_count // n_jobs``
    torch threads each. The seeds are drawn before dispatch, so the samples do not depend
    on it (bit for bit when torch runs as many threads everywhere)."""
docdict["generator_parameters"] = """method : 'path' | 'direct'
    ``'path'`` estimates the divergence as a sum of ``n_bridges`` small bridge divergences;
    ``'direct'`` uses a single bridge from ``P`` to ``Q`` (for comparison: it saturates).
n_bridges : int
    Number of bridges ``K`` of the path (ignored for ``'direct'``). Keep every bridge to a
    few nats: ``divergence_ / n_bridges`` above ~3 nats means ``K`` should grow.
pixel_order : 'channel' | 'time' | 'random'
    Order in which pixels are handed over to the marginal along the path.
n_filters, hidden, temporal_kernel : int
    Size of the dual network (see :class:`mne_dualdiv.engine.network.DualNetwork`).
max_steps : int
    Maximum number of training steps.
batch_size : int
    Real samples (and as many marginal samples) per training step.
learning_rate, weight_decay : float
    AdamW settings.
validation_fraction : float
    Fraction of the samples held out for early stopping and for ``divergence_``.
eval_every, patience : int
    Held-out evaluation period (steps) and the number of evaluations without improvement of
    the held-out loss after which training stops.
n_eval_draws : int
    Marginal draws per held-out sample in each evaluation.
n_final_draws : int
    Total coupled pairs (held-out samples x marginal draws) for the final estimates
    ``divergence_`` and ``train_divergence_``; their cost grows with it and ``n_bridges``.
n_neighbors : int
    Neighbourhood size of the localized (kNN) dual values.
n_local_draws : int
    Local marginal draws averaged for each localized value.
walk_steps : int
    Noisy steps of the gradient walk.
walk_step_size : float
    Newton damping of each walk step, in (0, 1].
walk_noise : float
    In [0, 1]: square root of the fraction of the data-shaped Gaussian's variance that each
    noisy walk step renews (an Ornstein-Uhlenbeck move projected on the level set of ``F``;
    see :func:`~mne_dualdiv.engine.walk.gradient_walk`). 0 makes Newton steps only.
start : 'gaussian' | 'training'
    Where walks start: fresh draws of the data-shaped Gaussian (mean and shrunk structured
    covariance of the training samples, :class:`~mne_dualdiv.engine.gaussian.DataGaussian`),
    so that no synthetic sample is tied to one training sample, or (the paper's walk)
    training samples whose dual values are near the target.
walk_shrinkage : None | float
    Shrinkage in [0, 1] of the data-shaped Gaussian's covariance towards its separable
    spatial x temporal target; None estimates it (Ledoit-Wolf). Larger values tie
    samples less to individual training samples.
walk_metric : 'data' | 'euclidean'
    Geometry of the walk: ``'data'`` moves along ``Sigma grad F`` (the gradient
    preconditioned by the data-shaped Gaussian's covariance, so that every step has the
    data's spectra and spatial covariance) and projects the noise orthogonally to
    ``grad F`` in that metric; ``'euclidean'`` moves along ``grad F`` itself.
target : 'nearest' | 'density' | 'between_clusters'
    Where walk targets come from: ``'nearest'``, the start's own dual value clipped to the
    end points (a walk then only moves out-of-distribution starts into them, and along
    their level set); ``'density'``, draws from a kernel density of the training dual
    values; ``'between_clusters'``, the gaps between adjacent clusters (with
    ``start='training'``, walks start from the lower cluster's members nearest the gap).
local_check : bool
    Also require a sample's localized value to lie within the training samples' range.
guard : bool
    Walk near-copies on: samples whose nearest-neighbour distance ratio (distance to the
    closest training sample over the distance to the second closest, near-duplicate
    training samples counted as one: ``near_duplicate_groups_``) is below
    ``near_copy_threshold_``.
guard_percentile : float
    Percentile (0-100) of the held-out samples' distance ratios used as the near-copy
    threshold (never below ``MIN_NEAR_COPY_RATIO`` = 0.5).
dp_epsilon : None | float
    Differential privacy: the (epsilon, delta) budget of the whole fit, or None (default)
    for none. With a number, ``fit`` trains the dual network with DP-SGD (Opacus: Poisson
    sampling, per-unit clipping, Gaussian noise), releases the walks' statistics (scale,
    mean image, spatial covariance, spectrum, range of dual values) through the Gaussian
    mechanism on clipped contributions, composes all of it with Opacus' RDP accountant to
    spend at most ``dp_epsilon``, and keeps no training sample: the near-copy guard and the
    local check are off, ``start='training'``, ``walk_shrinkage`` other than 1,
    ``sample(subset=...)`` and the methods that look training samples up are refused.
    The guarantee is per epoch, or per subject with ``fit(X, groups=...)``; it covers
    everything the fitted generator holds and samples (``privacy_``; ``docs/privacy.md``,
    "Differential privacy"). Needs the ``dp`` extra (``pip install mne_dualdiv[dp]``).
dp_delta : float
    The delta of the budget, in (0, 1); keep it well below one over the number of privacy
    units. Used only with ``dp_epsilon``.
""" + docdict["device"] + """ A saved generator reads on any machine; one saved with
    ``device='cuda'`` samples on a machine without a GPU after ``set_params(device='cpu')``.
    Under ``torchrun`` (or in an initialised ``torch.distributed`` process group), ``fit``
    trains on every process together: see ``docs/scale.md``.
random_state : None | int | numpy.random.Generator
    Seed of everything random in ``fit``.
verbose : None | bool | str
    Logging level while fitting and sampling."""

# ---------------------------------------------------------------------- the baselines
docdict["n_filters_baseline"] = """n_filters : int
    Width (feature maps) of the convolutional networks; the default gives a parameter count
    close to the engine's on FingerMovements-shaped data (``n_parameters_``)."""
docdict["n_latent"] = """n_latent : int
    Dimension of the latent (noise) vector the decoder or generator starts from."""
#: The training settings every deep baseline shares.
docdict["training_parameters_baseline"] = """max_steps : int
    Number of optimizer steps (the engine's ``max_steps``; no early stopping: the baselines
    have no held-out criterion, so every step is run).
batch_size : int
    Training samples per step, drawn with replacement (as the engine does).
learning_rate : float
    AdamW learning rate.
weight_decay : float
    AdamW weight decay.
""" + docdict["device"] + """
random_state : None | int | numpy.random.Generator
    Seed of everything random in ``fit`` (network initialisation, batches, noise); the same
    seed gives the same fitted model.
""" + docdict["verbose_fit"]
docdict["random_state_reference"] = """random_state : None | int | numpy.random.Generator
    Unused by ``fit``, which is deterministic; kept so that every generator is built the
    same way. The randomness of the samples comes from ``sample(random_state=...)``."""
#: The attributes every baseline learns, and those every deep (PyTorch) baseline adds.
docdict["attributes_baseline"] = """n_parameters_ : int
    Number of trained parameters (all networks trained, e.g. generator and discriminator);
    0 for the references, which train nothing.
scaler_ : ChannelScaler
    The robust per-channel scaling fitted on ``X``; models work in scaled units and
    samples are mapped back to the input's units.
n_channels_, n_times_ : int
    Image size seen in ``fit``."""
docdict["attributes_deep"] = docdict["attributes_baseline"] + """
squeeze_factor_ : int
    Time samples folded into channels before the networks (1 for epochs up to 127 samples).
network_shape_ : tuple of int
    ``(n_channels * squeeze_factor_, n_times // squeeze_factor_)``, the images the networks
    see.
history_ : list of dict
    Training curve: the step and the mean of each loss over the last ``log_every`` steps.
fit_time_ : float
    Seconds spent in the training loop."""
docdict["adversarial"] = """The generator is a :class:`~mne_dualdiv.baselines._networks.ConvDecoder` from
``n_latent`` standard normal values to an image, the discriminator (critic) a
:class:`~mne_dualdiv.baselines._networks.ConvEncoder` with LeakyReLU(0.2) activations and one
output; both have ``n_filters`` feature maps, and ``n_parameters_`` counts both. One step
is one discriminator update on a batch of ``batch_size`` real and as many generated
images, and every ``n_critic``-th step also one generator update. AdamW with
``betas=(0.5, 0.9)`` for both, the usual choice for adversarial training."""
docdict["attributes_adversarial"] = """generator_, discriminator_ : torch.nn.Module
    The trained networks."""

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


docdict["privacy_attribute"] = """privacy_ : None | dict
    None for a fit without ``dp_epsilon``. Otherwise what the private fit spent, as
    JSON values saved with the model: ``epsilon`` (spent, at most ``target_epsilon``)
    and ``delta``, ``unit`` (``'epoch'`` or ``'subject'``) and ``n_units``, the
    accountant (``'rdp'``), the DP-SGD's ``sgd_noise_multiplier``, ``sample_rate``,
    ``steps`` and ``max_grad_norm``, the releases' ``release_noise_multiplier`` and
    ``n_releases``, ``epsilon_sgd`` and ``epsilon_statistics`` (each alone),
    ``repeats`` and the accountant's ``mechanisms``."""
docdict["groups_dp"] = """groups : None | array-like, shape (n_samples,)
    Subject of each sample: with ``dp_epsilon``, the privacy unit (subject-level
    guarantee: DP-SGD samples subjects, each with all its samples, and clips each
    subject's gradient and each subject's contribution to a release). None:
    each sample is its own unit. Unused without ``dp_epsilon``.
dp_repeats : int
    With ``dp_epsilon``, the number of fits on the same privacy units whose
    composition the budget must cover (the epochs adapter passes its number of
    conditions for subject-level privacy). 1: this fit alone."""


def fill_doc(obj):
    """Replace every ``%(name)s`` of a docstring by ``docdict[name]``.

    The entry's continuation lines are indented as the placeholder's line, so one entry serves
    a function's docstring and a method's alike, alone on its line or starting a paragraph;
    other ``%`` signs of the docstring are left as they are.

    Parameters
    ----------
    obj : function | class
        What to document; its ``__doc__`` is replaced (nothing is done without one).

    Returns
    -------
    obj : function | class
        ``obj`` itself, so that ``fill_doc`` can decorate.
    """
    if not obj.__doc__:
        return obj
    lines = []
    for line in obj.__doc__.split("\n"):
        indent = line[:len(line) - len(line.lstrip())]

        def entry(match, indent=indent):
            first, *rest = docdict[match.group(1)].split("\n")
            return "\n".join([first] + [indent + part if part else part for part in rest])

        lines.append(_PLACEHOLDER.sub(entry, line))
    obj.__doc__ = "\n".join(lines)
    return obj

