"""``flowzip info`` and ``flowzip list``."""

import json


from flowzip.cli.main import main

from helpers import compressed_archive


def test_info_takes_several_files(runner, tiny_models, image_path, tmp_path):
    archive, _ = compressed_archive(runner, tmp_path)
    assert runner.invoke(main, ["compress", str(image_path)]).exit_code == 0
    result = runner.invoke(main, ["info", str(tmp_path / "photo.fz"), str(archive), "--json"])
    assert result.exit_code == 0, result.output
    infos = json.loads(result.output)
    assert [i["file"] for i in infos] == [str(tmp_path / "photo.fz"), str(archive)]
    assert infos[0]["layout"] == "tiled" and infos[1]["images"] == 3
