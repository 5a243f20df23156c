"""Methods declare their options once (constructor plus docstring); they are read back."""

import pytest
from torch import nn

from gsnn.methods import METHODS, ConversionMethod, get_method
from gsnn.methods.options import MethodOption, check_method_options, method_options


def test_rate_options_are_read_from_its_constructor_and_docstring():
    options = {option.name: option for option in method_options(METHODS["rate"])}
    assert list(options) == ["percentile", "initial_potential", "channel_wise"]
    assert options["percentile"] == MethodOption(
        "percentile", float, 99.9, False, "percentile in (0, 100]; 100 is Diehl's max-norm."
    )
    assert options["channel_wise"].kind is bool and options["channel_wise"].default is False


def test_an_untyped_option_takes_its_documented_type():
    shift = {option.name: option for option in method_options(METHODS["one-spike"])}["shift"]
    assert (shift.kind, shift.default, shift.optional) == (float, None, True)
    assert shift.accepts(None) and shift.accepts(0.7) and not shift.accepts("half")


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_declares_its_options_in_plain_text(name):
    for option in method_options(METHODS[name]):
        assert option.description, (name, option.name)
        assert "`" not in option.description and ":math:" not in option.description
        assert option.accepts(option.default)


def test_unknown_and_mistyped_options_name_every_option():
    with pytest.raises(ValueError) as unknown:
        get_method("burst", nosuch=1)
    assert str(unknown.value) == (
        "Bad options for method 'burst': it has no option 'nosuch'; its options (with "
        "defaults) are: burst=2 (int), percentile=99.9 (float), channel_wise=False (bool)."
    )
    with pytest.raises(ValueError, match="burst must be an integer, got 2.5"):
        get_method("burst", burst=2.5)
    with pytest.raises(ValueError, match="channel_wise must be True or False, got 1"):
        get_method("burst", channel_wise=1)
    with pytest.raises(ValueError, match="percentile must be a number, got '99'"):
        get_method("rate", percentile="99")
    get_method("rate", percentile=99)  # an int is a number
    with pytest.raises(
        ValueError,
        match=r"'qcfs': it has no option 'levels'; .* are: signed=False \(bool\), burst=1",
    ):
        get_method("qcfs", levels=4)


def test_a_method_breaking_the_convention_is_named():
    class Undocumented(ConversionMethod):
        name = "undocumented"

        def __init__(self, gain=1.0):
            self.gain = gain

        def threshold(self, site):
            raise NotImplementedError

        def make_neuron(self, threshold, T, depth) -> nn.Module:
            raise NotImplementedError

    with pytest.raises(TypeError, match="'gain' needs a default and a type"):
        check_method_options(Undocumented, {"gain": 2.0})
