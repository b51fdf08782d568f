"""The named presets: one set of values per name, used by the command line and the tests."""

import pytest

import mne_dualdiv
from mne_dualdiv import DualDivergenceGenerator, get_preset
from mne_dualdiv.cli import QUICK, QUICK_RECORDING
from mne_dualdiv.presets import ENGINE_PRESETS, RECORDING_PRESETS


def test_every_engine_preset_is_valid_generator_settings():
    for name in ENGINE_PRESETS:
        params = DualDivergenceGenerator(**get_preset(name)).get_params()
        assert {key: params[key] for key in get_preset(name)} == ENGINE_PRESETS[name]


def test_default_preset_keeps_the_engine_defaults():
    assert get_preset("default") == {}
    assert get_preset("default", kind="recording") == {}


def test_each_call_returns_a_fresh_dict():
    settings = get_preset("fast")
    settings["max_steps"] = 1
    assert get_preset("fast")["max_steps"] == 60
    assert get_preset("fast") is not get_preset("fast")


def test_quick_of_the_command_line_is_the_fast_preset():
    assert QUICK == get_preset("fast")
    assert QUICK_RECORDING == get_preset("fast", kind="recording")
    assert "get_preset" in mne_dualdiv.__all__


def test_unknown_name_is_refused_naming_it_and_the_known_names():
    with pytest.raises(ValueError, match=r"'name' parameter.*'default', 'fast'.*'tiny'.*"
                                         r"got 'quick' instead"):
        get_preset("quick")
    with pytest.raises(ValueError, match=r"'name' parameter.*'default' and 'fast'.*'tiny'"):
        get_preset("tiny", kind="recording")
    with pytest.raises(ValueError, match=r"'kind' parameter.*'engine' and 'recording'"):
        get_preset("fast", kind="epochs")
