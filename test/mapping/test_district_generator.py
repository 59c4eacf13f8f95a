"""The district generator is deterministic and the committed map is its current output."""

from robovan_autonomy.config_errors import config_path
from robovan_autonomy.mapping import district_generator

GENERATED = ("delivery_district.osm", "delivery_district.yaml", "README.md")


def test_rerun_writes_byte_identical_files(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    district_generator.write_district(first)
    district_generator.write_district(second)
    for name in GENERATED:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_committed_map_matches_the_generator(tmp_path):
    district_generator.write_district(tmp_path)
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == config_path("maps", name).read_bytes(), (
            f"config/maps/{name} is stale: "
            "rerun python -m robovan_autonomy.mapping.district_generator"
        )


def test_cli_writes_map_sidecar_and_readme(tmp_path, capsys):
    assert district_generator.main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(GENERATED)
    assert "delivery_district.osm" in capsys.readouterr().out


def test_sidecar_names_origin_projector_and_map():
    doc = district_generator.sidecar()
    assert doc["map_name"] == "delivery_district"
    assert doc["projector"] == "LocalCartesian"
    assert set(doc["origin"]) == {"lat_deg", "lon_deg", "alt_m"}
