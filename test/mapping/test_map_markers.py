"""The map as a viewer draws it: thinned polylines, filled polygons, shared bounds drawn once."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from robovan_autonomy.core_types import LINE_LIST, TRIANGLE_LIST
from robovan_autonomy.geometry import points_in_polygon, polygon_area
from robovan_autonomy.mapping.lanelet_map import load_map
from robovan_autonomy.mapping.map_markers import (
    SIMPLIFY_TOLERANCE_M,
    map_layers,
    segments,
    simplify_polyline,
    triangulate,
    unique_segments,
)

L_SHAPE = np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 1.0], [1.0, 1.0], [1.0, 3.0], [0.0, 3.0]])


@pytest.fixture(scope="module")
def district():
    return load_map()


@pytest.fixture(scope="module")
def layers(district):
    return {layer.name: layer for layer in map_layers(district)}


def _distances_to_segments(points: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """(N,) distance of each (N, 2) point to the nearest of the (M, 2, 2) segments."""
    start, direction = pairs[:, 0], pairs[:, 1] - pairs[:, 0]
    offset = points[:, None, :] - start[None]
    along = np.clip((offset * direction).sum(-1) / (direction**2).sum(-1), 0.0, 1.0)
    return np.linalg.norm(offset - along[..., None] * direction, axis=-1).min(axis=1)


def _within_tolerance_of(kept: np.ndarray, points: np.ndarray) -> bool:
    gaps = _distances_to_segments(points, np.stack([kept[:-1], kept[1:]], axis=1))
    return bool(gaps.max() <= SIMPLIFY_TOLERANCE_M + 1e-9)


@given(
    st.lists(st.floats(-0.5, 0.5), min_size=3, max_size=60),
    st.floats(0.0, 2.0 * math.pi),
)
def test_every_vertex_a_simplified_polyline_drops_lies_within_the_tolerance(wiggles, heading):
    along = np.linspace(0.0, 30.0, len(wiggles))
    polyline = np.column_stack([along, np.cumsum(wiggles)]) @ np.array(
        [[math.cos(heading), math.sin(heading)], [-math.sin(heading), math.cos(heading)]]
    )
    kept = simplify_polyline(polyline)
    assert np.array_equal(kept[[0, -1]], polyline[[0, -1]])
    assert _within_tolerance_of(kept, polyline)


def test_a_densely_sampled_straight_line_is_kept_as_its_two_ends():
    line = np.column_stack([np.linspace(0.0, 50.0, 101), np.linspace(0.0, 5.0, 101)])
    assert np.array_equal(simplify_polyline(line), line[[0, -1]])


def test_a_closed_loop_keeps_its_shape():
    angles = np.linspace(0.0, 2.0 * math.pi, 180, endpoint=False)
    circle = 10.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    ring = np.vstack([circle, circle[:1]])  # as Curb.outline draws a closed kerb
    kept = simplify_polyline(ring)
    assert 10 < len(kept) < len(ring) and np.array_equal(kept[0], kept[-1])
    assert _within_tolerance_of(kept, ring)


# A square with a vertex in the middle of an edge: a flat corner is never an ear.
SQUARE_WITH_MIDPOINT = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [1.0, 2.0], [0.0, 2.0]])


@pytest.mark.parametrize(
    "polygon",
    [L_SHAPE, L_SHAPE[::-1], SQUARE_WITH_MIDPOINT],
    ids=["ccw", "cw", "flat corner"],
)
def test_the_triangles_of_a_polygon_cover_it_exactly(polygon):
    triangles = polygon[triangulate(polygon)]
    assert len(triangles) == len(polygon) - 2
    assert sum(polygon_area(t) for t in triangles) == pytest.approx(polygon_area(polygon))
    assert points_in_polygon(triangles.mean(axis=1), polygon).all()


def test_a_segment_drawn_twice_either_way_round_is_kept_once():
    bound = np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 1.0]])
    beside = bound + [0.0, 3.5]
    pairs = np.vstack([segments(bound), segments(bound[::-1]), segments(beside)])
    np.testing.assert_array_equal(
        unique_segments(pairs), np.vstack([segments(bound), segments(beside)])
    )


def test_the_district_is_drawn_in_every_layer_as_whole_segments_and_triangles(layers):
    assert set(layers) == {
        "crosswalks",
        "delivery_bays",
        "lane_bounds",
        "centerlines",
        "kerbs",
        "stop_lines",
        "buildings",
    }
    for layer in layers.values():
        assert len(layer.points) > 0 and np.isfinite(layer.points).all(), layer.name
        group = {LINE_LIST: 2, TRIANGLE_LIST: 3}[layer.kind]
        assert len(layer.points) % group == 0, layer.name
        assert (layer.line_width_m > 0.0) == (layer.kind == LINE_LIST), layer.name


def test_every_lane_bound_vertex_lies_on_the_drawn_bounds(district, layers):
    drawn = layers["lane_bounds"].points.reshape(-1, 2, 3)[:, :, :2]
    vertices = np.vstack(
        [b for lane in district.lanes.values() for b in (lane.left_bound, lane.right_bound)]
    )
    assert _distances_to_segments(vertices, drawn).max() <= SIMPLIFY_TOLERANCE_M + 1e-9


def test_a_bound_two_lanes_share_is_drawn_once(district, layers):
    drawn = layers["lane_bounds"].points.reshape(-1, 6)
    keys = {tuple(sorted(map(tuple, np.round(row.reshape(2, 3), 2)))) for row in drawn}
    assert len(keys) == len(drawn)
    every_bound_segment = sum(
        len(simplify_polyline(bound)) - 1
        for lane in district.lanes.values()
        for bound in (lane.left_bound, lane.right_bound)
    )
    assert len(drawn) < every_bound_segment


def test_kerbs_are_drawn_at_their_height_and_bays_fill_their_polygons(district, layers):
    assert set(layers["kerbs"].points[:, 2]) == {c.height_m for c in district.curbs}
    bay_area = sum(polygon_area(b.polygon) for b in district.bays.values())
    triangles = layers["delivery_bays"].points.reshape(-1, 3, 3)[:, :, :2]
    assert sum(polygon_area(t) for t in triangles) == pytest.approx(bay_area)
