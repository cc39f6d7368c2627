"""``flowzip models``: the registry listed."""


from flowzip.cli.main import main


def test_models_lists_the_registry(runner, tiny_models):
    result = runner.invoke(main, ["models"])
    assert result.exit_code == 0 and "tiny-rgb" in result.output and "tiny-gray" in result.output


def test_models_lists_both_families(runner, tiny_models):
    output = runner.invoke(main, ["models"]).output
    assert "tiny-glow" in output and "bits-back" in output and "integer discrete flow" in output


def test_models_lists_measured_results_with_or_without_an_estimate(runner, tiny_models):
    import json

    card_path = tiny_models / "tiny-rgb.json"
    card = json.loads(card_path.read_text())
    card["measured"] = {"set_a": {"bpd": 3.1, "images": 24}, "set_b": {"bpd": 3.2, "estimated_bpd": 3.19, "images": 2,
                                                                      "archive_bpd": 3.0}}
    card_path.write_text(json.dumps(card))
    result = runner.invoke(main, ["models"])
    assert result.exit_code == 0, result.output
    assert "set_a: 3.100 bpd (24 images)" in result.output
    assert "set_b: 3.200 bpd (estimate 3.190, 2 images, as one archive 3.000)" in result.output


def test_models_show_the_weights_a_file_names_them_by(runner, tiny_models):
    """A compact file names its model by the first bytes of its weights' hash: ``models`` shows them."""
    from flowzip import zoo

    line = next(line for line in runner.invoke(main, ["models"]).output.splitlines() if line.split(":")[0].split(" (")[0] == "tiny-rgb")
    assert f"weights {zoo.load_model('tiny-rgb').weights_id.hex()}" in line
