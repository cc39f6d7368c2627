"""``flowzip models``: the registry listed."""


from flowzip.cli.main import main


def test_models_lists_the_registry(runner, tiny_models):
    result = runner.invoke(main, ["models"])
    assert result.exit_code == 0 and "tiny-rgb" in result.output and "tiny-gray" in result.output


def test_models_lists_both_families(runner, tiny_models):
    output = runner.invoke(main, ["models"]).output
    assert "tiny-glow" in output and "bits-back" in output and "integer discrete flow" in output
