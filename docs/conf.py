"""Sphinx configuration of the mne_dualdiv documentation site.

Build it with ``python -m sphinx -W -b html docs docs/_build/html`` (under a minute on 2 CPU
cores in 2026-12; the gallery under ``tutorials/`` is executed). Environment variables:

- ``MNE_DUALDIV_INTERSPHINX=1`` links to the MNE, SpikeInterface, neo, scikit-learn, PyTorch,
  NumPy, ... documentation. It needs the network (the inventories are downloaded), so it is off
  by default: an unreachable inventory is a warning that no ``suppress_warnings`` entry can
  silence, and ``-W`` would fail offline.
- ``MNE_DUALDIV_PLOT_GALLERY=0`` builds the gallery pages without running the tutorials.
"""

import inspect
import os
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import mne_dualdiv  # noqa: E402
from mne_dualdiv import cli  # noqa: E402

HERE = Path(__file__).resolve().parent

INTERSPHINX = os.environ.get("MNE_DUALDIV_INTERSPHINX", "0") == "1"

# -- project information ------------------------------------------------------------------------
project = "mne_dualdiv"
author = "mne_dualdiv developers"
copyright = f"2024-{date.today().year}, {author}"  # noqa: A001
release = mne_dualdiv.__version__
version = release

# -- general configuration ----------------------------------------------------------------------
needs_sphinx = "7.0"
root_doc = "index"
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    "**.ipynb_checkpoints",
    # the output of ``benchmarks/compare.py --quick``: a smoke test, not a result to publish
    "comparison/quick",
    # sphinx-gallery's generated pages include these; they are not pages themselves
    "auto_tutorials/*.py",
    "auto_tutorials/*.ipynb",
    "auto_tutorials/*.md5",
    "auto_tutorials/*.codeobj.json",
    "auto_tutorials/*.zip",
]
default_role = "py:obj"
# ``|acc - 0.5|`` in the first line of ``metrics.discriminative_score``'s docstring is read as
# an undefined substitution; this keeps the text as written until the docstring quotes it.
rst_prolog = """
.. |acc - 0.5| replace:: ``|acc - 0.5|``
"""
# Markdown links to files that are not pages (``results.json``, a benchmark script) are kept as
# links; MyST reports them as "missing cross-references".
suppress_warnings = ["myst.xref_missing", "config.cache"]

# -- HTML ---------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"mne_dualdiv {release}"
html_static_path = ["_static"]
html_css_files = ["style.css"]
html_show_sourcelink = False
html_copy_source = False
html_show_sphinx = False
html_theme_options = {
    "external_links": [{"name": "MNE", "url": "https://mne.tools/stable/index.html"}],
    "navigation_with_keys": False,
    "show_toc_level": 1,
    "use_edit_page_button": False,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"api": [], "cli": []}
html_context = {"pygment_light_style": "tango", "pygment_dark_style": "native"}

# -- MyST: the Markdown pages of docs/ ----------------------------------------------------------
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

# -- autodoc / autosummary ----------------------------------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"
autodoc_member_order = "groupwise"
autoclass_content = "class"
autodoc_default_options = {"inherited-members": False}

# -- numpydoc -----------------------------------------------------------------------------------
# The class template documents each class's own members; numpydoc adds no second list (and
# never lists what a class inherits from SpikeInterface, scikit-learn or torch).
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Parameter types link to their documentation through intersphinx (numpydoc's own aliases
# point at the Python and NumPy inventories), so only when intersphinx is on.
numpydoc_xref_param_type = INTERSPHINX
numpydoc_xref_aliases = {
    "Path": "pathlib.Path",
    "path-like": ":term:`python:path-like object`",
    "Epochs": "mne.Epochs",
    "EpochsArray": "mne.EpochsArray",
    "Info": "mne.Info",
    "BaseRecording": "spikeinterface.core.BaseRecording",
    "Generator": "numpy.random.Generator",
    "DualDivergenceGenerator": "mne_dualdiv.DualDivergenceGenerator",
    "EpochsSynthesizer": "mne_dualdiv.EpochsSynthesizer",
    "EvaluationReport": "mne_dualdiv.metrics.EvaluationReport",
    "MetricScore": "mne_dualdiv.metrics.MetricScore",
}
numpydoc_xref_ignore = {
    "of", "shape", "or", "optional", "default", "instance", "like", "array-like", "the", "same",
    "as", "n_samples", "n_channels", "n_times", "n_epochs", "n_features", "n_heldout",
    "n_train", "n_synthetic", "n_nonmembers", "n_members", "n_bridges", "n_pixels",
    "n_queries", "n_reference", "n_freqs", "n_components", "n_clusters", "n_draws",
    "n_segments", "n_frames", "n_units", "n_classes",
}
# Validation: every public docstring must document exactly the parameters of its signature
# (PR01, PR02), with a type for each (PR04), and a Returns section naming a type (RT03 is left
# out: several returns are described by their name and type only).
numpydoc_validate = True
numpydoc_validation_checks = {"PR01", "PR02", "PR04", "PR10", "GL06", "GL07", "SS01"}
numpydoc_validation_exclude = {
    r"\.__init__$", r"\.get_params$", r"\.set_params$", r"\.set_output$",
    r"\.fit_transform$", r"\.fit_resample$", r"\.__call__$", r"\.get_metadata_routing$",
    r"\.set_.*_request$", r"\.__getitem__$", r"\.__iter__$", r"\.__len__$", r"\.__repr__$",
    r"^torch\.", r"^sklearn\.", r"^builtins\.",
    r"\.[A-Z][A-Z0-9_]*$",  # constants (METRICS, BASELINES): a ``#:`` comment, not a docstring
    # dataclasses: their fields are documented as Attributes, which numpydoc reads as missing
    # Parameters
    r"\.PrivacyReport$", r"\.RecordingFidelityReport$",
}

# -- intersphinx --------------------------------------------------------------------------------
intersphinx_mapping = {}
if INTERSPHINX:
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "matplotlib": ("https://matplotlib.org/stable", None),
        "pandas": ("https://pandas.pydata.org/pandas-docs/stable", None),
        "mne": ("https://mne.tools/stable", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "imblearn": ("https://imbalanced-learn.org/stable", None),
        "torch": ("https://docs.pytorch.org/docs/stable", None),
        "spikeinterface": ("https://spikeinterface.readthedocs.io/en/stable", None),
        "probeinterface": ("https://probeinterface.readthedocs.io/en/stable", None),
        "neo": ("https://neo.readthedocs.io/en/stable", None),
    }
intersphinx_timeout = 10

# -- sphinx-gallery -----------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": ["../tutorials"],
    "gallery_dirs": ["auto_tutorials"],
    "filename_pattern": r"/plot_",  # run every plot_*.py
    "plot_gallery": os.environ.get("MNE_DUALDIV_PLOT_GALLERY", "1") != "0",
    "abort_on_example_error": False,  # report every failing tutorial; -W then fails the build
    "only_warn_on_example_error": False,
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("mne_dualdiv",),
    "reference_url": {"mne_dualdiv": None},
    "image_scrapers": ("matplotlib",),
    "capture_repr": ("_repr_html_", "__repr__"),
    "min_reported_time": 1.0,
    "remove_config_comments": True,
    "show_memory": False,
    "line_numbers": False,
    "thumbnail_size": (160, 112),
    "matplotlib_animations": False,
    "download_all_examples": True,
}


# -- generated pages: API lists and command-line help -------------------------------------------
#: The API section of the metrics defined in modules other than the sections' own: the report's
#: shared record, then the modules the fidelity and information scores are split into by concern.
_METRICS_SECTION = {"_base": "report", "_report_html": "report", "": "report", "spectra": "fidelity",
                    "covariance": "fidelity", "estimators": "information",
                    "distances": "privacy", "attacks": "privacy", "ensemble": "privacy",
                    "subjects": "privacy"}


def _public_names():
    """Every public name of the package, by API section: ``{section: [(qualified name, kind)]}``.

    The API page includes the lists written from these, so it lists every public name and
    nothing that no longer exists, whatever the modules export today.
    """
    import mne_dualdiv.baselines
    import mne_dualdiv.datasets
    import mne_dualdiv.metrics

    def entries(module, names):
        out = []
        for name in names:
            obj = getattr(module, name)
            if inspect.ismodule(obj) or name.startswith("__"):
                continue
            kind = "data" if not (inspect.isclass(obj) or callable(obj)) else "object"
            out.append((f"{module.__name__}.{name}", kind, obj))
        return out

    sections = {"core": entries(mne_dualdiv, mne_dualdiv.__all__),
                "ephys": entries(mne_dualdiv, list(mne_dualdiv._EPHYS_NAMES)),
                "datasets": entries(mne_dualdiv.datasets, mne_dualdiv.datasets.__all__),
                "baselines": entries(mne_dualdiv.baselines, mne_dualdiv.baselines.__all__)}
    # the metrics, grouped by the submodule that defines them (fidelity, information, ...)
    for qualname, kind, obj in entries(mne_dualdiv.metrics, mne_dualdiv.metrics.__all__):
        module = getattr(obj, "__module__", "") if kind == "object" else ""
        group = module.rsplit(".", 1)[-1] if module.startswith("mne_dualdiv.metrics.") else ""
        group = _METRICS_SECTION.get(group, group)
        sections.setdefault(f"metrics_{group}", []).append((qualname, kind, obj))
    return sections


def _write_if_changed(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def write_generated_pages(app=None):
    """Write ``generated/api/*.inc`` (autosummary lists) and ``generated/cli/*.txt``.

    ``api.rst`` includes the lists; their stub pages are generated here too, into
    ``generated/``, because autosummary only scans the source files themselves.
    """
    for section, items in _public_names().items():
        objects = [name for name, kind, _ in items if kind == "object"]
        data = [name for name, kind, _ in items if kind == "data"]
        lines = []
        if objects:
            lines += [".. autosummary::", "   :toctree: generated", "   :nosignatures:", ""]
            lines += [f"   {name}" for name in objects] + [""]
        for name in data:
            lines += [f".. autodata:: {name}", "   :no-value:", ""]
        _write_if_changed(HERE / "generated" / "api" / f"{section}.inc", "\n".join(lines))
    parser = cli.build_parser()
    _write_if_changed(HERE / "generated" / "cli" / "mne-dualdiv.txt", parser.format_help())
    for command in cli.SUBCOMMANDS:
        _write_if_changed(HERE / "generated" / "cli" / f"{command}.txt",
                          parser.commands[command].format_help())
    if app is not None:
        from sphinx.ext.autosummary.generate import generate_autosummary_docs

        lists = sorted(str(path) for path in (HERE / "generated" / "api").glob("*.inc"))
        generate_autosummary_docs(lists, output_dir=str(HERE / "generated"), suffix=".rst",
                                  app=app)


def skip_member(app, what, name, obj, skip, options):
    """Leave out the ``set_*_request`` methods scikit-learn adds to every estimator."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("builder-inited", write_generated_pages)
    app.connect("autodoc-skip-member", skip_member)
