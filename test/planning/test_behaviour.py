"""The delivery behaviour, one behaviour per test, on synthetic straight and curved route paths.

Most tests close the loop with IdealVan: a van that does exactly what a decision allows (brakes
for the stop point along the MPC's stop profile, respects the speed cap, sits on d(s)), so the
assertions are about the behaviour layer and not about tracking.
"""

import math

import numpy as np
import pytest

from robovan_autonomy import core_types as ct
from robovan_autonomy.core_types import OBJECT_DTYPE
from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.planning import behaviour as bh
from robovan_autonomy.planning import mpc
from robovan_autonomy.planning.behaviour import (
    BehaviourPlanner,
    EventKind,
    MissionProgress,
    MissionStop,
    State,
)
from robovan_autonomy.planning.behaviour.arbitration import RESUME_DEADBAND_M
from robovan_autonomy.planning.behaviour.bays import BAY_SETTLE_M, BAY_SPEED_CAP_MPS
from robovan_autonomy.planning.behaviour.blockages import BLOCKAGE_STILL_S
from robovan_autonomy.planning.behaviour.common import IN_PATH_ENTER_M
from robovan_autonomy.planning.behaviour.crosswalks import CROSSWALK_NEAR_M
from robovan_autonomy.planning.behaviour.objects import GAP_CLOSING_TIME_S, KERBSIDE_SPEED_MPS
from robovan_autonomy.planning.behaviour.passing import (
    CORRIDOR_MARGIN_M,
    PASS_LATERAL_CLEARANCE_M,
    PASS_LONGITUDINAL_CLEARANCE_M,
    PASS_PULL_OUT_MAX_CURVATURE_PER_M,
    PASS_RAMP_LATERAL_ACCEL_MPS2,
    PASS_TIGHT_PULL_OUT_CURVATURE_PER_M,
    REROUTE_AFTER_S,
)
from robovan_autonomy.planning.behaviour.stop_lines import STOP_LINE_SETBACK_M
from robovan_autonomy.planning.behaviour.traffic_lights import (
    COMFORT_DECEL_MPS2,
    COMFORT_JERK_MPS3,
    REACTION_S,
    stop_distance_m,
)
from robovan_autonomy.planning.prediction import Horizon
from robovan_autonomy.planning.route import AdjacentKind, ReferencePath, RouteStop
from robovan_autonomy.planning.speed_limits import SpeedProfile
from robovan_autonomy.vehicle.command_limits import MAX_JERK_FALL_MPS3
from robovan_autonomy.vehicle_params import STANDSTILL_SPEED_MPS, load_vehicle_params

VEHICLE = load_vehicle_params()
# The brief's requirements, written out so a changed constant cannot make its own test pass.
POSITION_TOLERANCE_M = 0.30
FULL_STOP_S = 1.0
STANDSTILL_GAP_M = 4.0
TIME_GAP_S = 1.5
MIN_RAMP_M = 15.0
HORIZON = Horizon(n_stages=40, dt_s=0.1)
FRONT_M = VEHICLE.wheelbase_m + VEHICLE.front_overhang_m
HALF_WIDTH_M = VEHICLE.width_m / 2.0
DT_S = 0.1
LANE_HALF_M = 1.75
ONCOMING_LANE_M = 3.5
BAY_WIDTH_M = 2.5
LANELET = 1001


# --- synthetic route paths -----------------------------------------------------------------------
def make_path(x, y, stops=(), left_kind=AdjacentKind.ONCOMING, bay_span=None, speed_mps=11.11):
    x, y = np.asarray(x, float), np.asarray(y, float)
    s = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    yaw = np.unwrap(np.arctan2(np.gradient(y, s), np.gradient(x, s)))
    n = len(s)
    right_kind = np.full(n, AdjacentKind.NONE, dtype=np.int8)
    right_extra = np.zeros(n)
    if bay_span is not None:
        beside = (s >= bay_span[0]) & (s <= bay_span[1])
        right_kind[beside], right_extra[beside] = AdjacentKind.DELIVERY_BAY, BAY_WIDTH_M
    left_extra = np.full(n, ONCOMING_LANE_M if left_kind != AdjacentKind.NONE else 0.0)
    return ReferencePath(
        x_m=x,
        y_m=y,
        yaw_rad=yaw,
        curvature_1pm=np.gradient(yaw, s),
        s_m=s,
        speed_limit_mps=np.full(n, speed_mps),
        left_width_m=np.full(n, LANE_HALF_M),
        right_width_m=np.full(n, LANE_HALF_M),
        left_adjacent_width_m=left_extra,
        left_adjacent_kind=np.full(n, left_kind, dtype=np.int8),
        right_adjacent_width_m=right_extra,
        right_adjacent_kind=right_kind,
        lanelet_id=np.full(n, LANELET, dtype=np.int64),
        lanelet_ids=(LANELET,),
        stops=tuple(sorted(stops, key=lambda r: r.s_m)),
        max_smoothing_offset_m=0.0,
    )


def straight_path(length_m=300.0, **kwargs):
    x = np.arange(0.0, length_m + 1e-9, 0.5)
    return make_path(x, np.zeros_like(x), **kwargs)


def curved_path(radius_m=60.0, **kwargs):
    """A left-hand curve starting at the origin heading +x."""
    s = np.arange(0.0, 1.5 * math.pi * radius_m, 0.5)
    angle = s / radius_m
    return make_path(radius_m * np.sin(angle), radius_m * (1.0 - np.cos(angle)), **kwargs)


# --- objects -------------------------------------------------------------------------------------
SIZES = {
    ObjectClass.CAR: (4.5, 1.8),
    ObjectClass.VAN_TRUCK: (5.9, 2.0),
    ObjectClass.PEDESTRIAN: (0.6, 0.6),
    ObjectClass.CYCLIST: (1.8, 0.6),
    ObjectClass.STATIC: (1.0, 1.0),
}


def table(*rows):
    """OBJECT_DTYPE rows from (track, class, x, y, yaw, vx, vy)."""
    out = np.zeros(len(rows), dtype=OBJECT_DTYPE)
    for i, (track, cls, x, y, yaw, vx, vy) in enumerate(rows):
        length, width = SIZES[cls]
        out[i] = (x, y, 0.0, yaw, length, width, 1.5, vx, vy, 0.9, cls, track)
    return out


NO_OBJECTS = table()


# --- an ideal van --------------------------------------------------------------------------------
class IdealVan:
    """Does exactly what a decision allows: speeds up at 1 m/s² to min(cap, route limit, the
    offset's cap), brakes along the MPC's stop profile to rest STOP_SHORT_M before the rear-axle
    stop point (as the MPC does), and sits on the offset d(s)."""

    ACCEL_MPS2 = 1.0

    def __init__(self, path, s_m=0.0, speed_mps=0.0, d_m=0.0):
        self.path, self.s, self.v, self.d = path, s_m, speed_mps, d_m

    def state(self, t_s):
        p = self.path
        yaw = float(np.interp(self.s, p.s_m, p.yaw_rad))
        x = float(np.interp(self.s, p.s_m, p.x_m)) - math.sin(yaw) * self.d
        y = float(np.interp(self.s, p.s_m, p.y_m)) + math.cos(yaw) * self.d
        return mpc.VanState(t_s, x, y, yaw, self.v)

    def follow(self, decision):
        rest = decision.s_stop_rear_axle_m - mpc.STOP_SHORT_M
        room = max(rest - self.s, 0.0)
        limit = min(
            float(np.interp(self.s, self.path.s_m, self.path.speed_limit_mps)),
            float(
                decision.speed_limits.cap_mps(np.array([self.s]), mpc.STOP_PROFILE_DECEL_MPS2)[0]
            ),
        )
        target = min(limit, math.sqrt(2.0 * mpc.STOP_PROFILE_DECEL_MPS2 * room))
        accel = np.clip((target - self.v) / DT_S, decision.min_accel_mps2, self.ACCEL_MPS2)
        self.v = max(0.0, self.v + accel * DT_S)
        self.s = min(self.s + self.v * DT_S, max(self.s, rest))
        self.d = float(decision.offset.offset_m(np.array([self.s]))[0])


def run(
    planner,
    van,
    duration_s,
    objects=lambda t: NO_OBJECTS,
    progress=None,
    t0_s=0.0,
    signals=lambda t: {},
):
    """Closed loop at 10 Hz; returns [(t, decision, van s, van speed, objects)] per step.
    signals(t): what each traffic light shows, by id."""
    progress = progress or MissionProgress(())
    log = []
    for k in range(int(round(duration_s / DT_S))):
        t = t0_s + k * DT_S
        objs = objects(t)
        decision = planner.step(
            t, van.state(t), van.path, van.s, objs, progress, signals=signals(t)
        )
        log.append((t, decision, van.s, van.v, objs))
        progress = decision.progress
        van.follow(decision)
    return log


def planner(**kwargs):
    return BehaviourPlanner(VEHICLE, HORIZON, **kwargs)


def events(log, kind):
    return [(t, e) for t, d, *_ in log for e in d.events if e.kind is kind]


def transitions(log):
    states = [d.state for _, d, *_ in log]
    return sum(a is not b for a, b in zip(states, states[1:]))


# --- delivery bays -------------------------------------------------------------------------------
BAY_CENTRE_S = 80.0
BAY_LATERAL_M = -(LANE_HALF_M + BAY_WIDTH_M / 2.0)  # the bay's middle, beside the lane
# The bay and the free kerbside strip before and after it, as the route marks them from the map.
BAY_SPAN = (BAY_CENTRE_S - 6.0 - 12.0, BAY_CENTRE_S + 6.0 + 6.0)


def bay_setup(dwell_s=5.0, second_stop=False):
    stops = [RouteStop("delivery_bay", "bay_A", BAY_CENTRE_S, BAY_CENTRE_S, LANELET)]
    mission = [MissionStop.at_bay("bay_A", dwell_s, (BAY_CENTRE_S, BAY_LATERAL_M, 0.0), VEHICLE)]
    if second_stop:
        stops.append(RouteStop("delivery_bay", "bay_B", 250.0, 250.0, LANELET))
        mission.append(MissionStop.at_bay("bay_B", dwell_s, (250.0, BAY_LATERAL_M, 0.0), VEHICLE))
    path = straight_path(stops=stops, bay_span=BAY_SPAN)
    return path, MissionProgress(tuple(mission))


def test_stops_at_the_bay_at_the_curb_and_reports_the_position_error():
    path, progress = bay_setup()
    log = run(planner(), IdealVan(path), 40.0, progress=progress)
    arrived = events(log, EventKind.ARRIVED)
    assert len(arrived) == 1
    t_arrive, event = arrived[0]
    assert event.name == "bay_A"
    assert event.within_tolerance and event.position_error_m <= POSITION_TOLERANCE_M
    x_stop, y_stop, _ = progress.stops[0].stop_pose
    _, decision, s_van, _, _ = next(row for row in log if row[0] == t_arrive)
    assert s_van == pytest.approx(x_stop, abs=0.05)
    assert decision.offset.offset_m(np.array([s_van]))[0] == pytest.approx(y_stop, abs=0.05)
    assert decision.state is State.DWELL_AT_BAY


def approach_decision():
    path, progress = bay_setup()
    log = run(planner(), IdealVan(path), 40.0, progress=progress)
    return path, progress, next(d for _, d, *_ in log if d.state is State.APPROACH_STOP)


def test_ramp_into_the_bay_stays_inside_the_corridor_with_the_bay():
    path, progress, decision = approach_decision()
    reference = bh.mpc_reference_path(path, decision)
    ramp = decision.offset.plateaus[0]
    on_ramp = (path.s_m >= ramp.s0_m) & (path.s_m <= progress.stops[0].stop_pose[0])
    assert np.all(reference.right_width_m[on_ramp] >= HALF_WIDTH_M)
    assert ramp.s1_m - ramp.s0_m >= 10.0  # a curvature-limited ramp, not a jump


def test_ramp_into_the_bay_ends_a_settling_length_before_the_stop_pose():
    path, progress, decision = approach_decision()
    ramp = decision.offset.plateaus[0]
    x_stop, y_stop, _ = progress.stops[0].stop_pose
    assert ramp.s1_m == pytest.approx(x_stop - BAY_SETTLE_M)
    assert ramp.d_m == pytest.approx(y_stop)


def test_reference_slows_to_the_bay_speed_before_the_ramp_braking_gently():
    path, _, decision = approach_decision()
    reference = bh.mpc_reference_path(path, decision)
    ramp = decision.offset.plateaus[0]
    on_ramp = path.s_m >= ramp.s0_m
    assert np.all(reference.speed_mps[on_ramp] <= BAY_SPEED_CAP_MPS + 1e-9)
    decel = -np.diff(reference.speed_mps**2) / (2.0 * np.diff(path.s_m))
    assert decel.max() <= mpc.STOP_PROFILE_DECEL_MPS2 + 1e-6


def test_bay_stop_point_lies_the_mpc_rest_margin_past_the_stop_pose():
    path, progress, decision = approach_decision()
    x_stop, _, _ = progress.stops[0].stop_pose
    assert decision.s_stop_rear_axle_m == pytest.approx(x_stop + mpc.STOP_SHORT_M)


def cyclist_in_the_strip(start_s, speed_mps, lateral_m=-(LANE_HALF_M + 0.45)):
    """A cyclist riding straight along the kerbside strip, from start_s at t = 0."""
    return lambda t: table(
        (7, ObjectClass.CYCLIST, start_s + speed_mps * t, lateral_m, 0.0, speed_mps, 0.0)
    )


def overlaps_van(van_s, van_d, objects):
    """Whether the van's footprint at (van_s, van_d) on a straight path along x meets a box."""
    for obj in objects:
        if (
            abs(obj["y"] - van_d) < HALF_WIDTH_M + obj["width"] / 2.0
            and obj["x"] + obj["length"] / 2.0 > van_s - VEHICLE.rear_overhang_m
            and obj["x"] - obj["length"] / 2.0 < van_s + FRONT_M
        ):
            return True
    return False


def test_lets_a_cyclist_overtaking_on_the_right_by_before_turning_into_the_bay():
    path, progress = bay_setup()
    van = IdealVan(path)
    cyclist = cyclist_in_the_strip(-40.0, 6.5)
    log = run(planner(), van, 40.0, objects=cyclist, progress=progress)
    assert not any(
        overlaps_van(s, d.offset.offset_m(np.array([s]))[0], objs) for _, d, s, _, objs in log
    )
    assert any("letting 7 by on the right" in d.reason for _, d, *_ in log)
    assert len(events(log, EventKind.ARRIVED)) == 1


@pytest.mark.parametrize(
    "speed_mps, start_s", [(5.5, -35.0), (6.5, -45.0), (7.0, -55.0), (8.0, -65.0)]
)
def test_a_cyclist_overtaking_along_the_strip_is_let_by_not_yielded_to_as_crossing(
    speed_mps, start_s
):
    """Coming up from behind, they are the mirror check's; once ahead and faster, they ride
    away: a stop point for them as for someone crossing would be behind the van's own front."""
    path, progress = bay_setup()
    log = run(
        planner(),
        IdealVan(path),
        40.0,
        objects=cyclist_in_the_strip(start_s, speed_mps),
        progress=progress,
    )
    assert not any("yielding to 7" in d.reason for _, d, *_ in log)
    assert len(events(log, EventKind.ARRIVED)) == 1


def test_does_not_wait_for_a_car_following_in_its_own_lane():
    path, progress = bay_setup()

    def follower(t):
        return table((8, ObjectClass.CAR, -15.0 + 6.0 * t, 0.0, 0.0, 6.0, 0.0))

    log = run(planner(), IdealVan(path), 40.0, objects=follower, progress=progress)
    assert not any("letting" in d.reason for _, d, *_ in log)


def test_dwells_for_the_dwell_time_then_resumes_toward_the_next_stop():
    path, progress = bay_setup(dwell_s=5.0, second_stop=True)
    van = IdealVan(path)
    log = run(planner(), van, 60.0, progress=progress)
    ((t_arrive, _),) = events(log, EventKind.ARRIVED)[:1]
    ((t_done, done),) = events(log, EventKind.DWELL_FINISHED)[:1]
    assert done.name == "bay_A"
    assert t_done - t_arrive == pytest.approx(5.0, abs=DT_S + 1e-9)
    during = [(s, d) for t, d, s, *_ in log if t_arrive <= t < t_done]
    assert all(d.state is State.DWELL_AT_BAY and d.speed_cap_mps == 0.0 for _, d in during)
    assert max(s for s, _ in during) - min(s for s, _ in during) < 1e-9  # held still
    after = [(t, d, s) for t, d, s, *_ in log if t_done < t <= t_done + 10.0]
    assert all(d.progress.served == 1 and d.state is not State.DWELL_AT_BAY for _, d, _ in after)
    assert after[-1][2] > during[0][0] + 20.0  # drove on
    ramp_back = after[-1][1].offset.offset_m(np.array([after[-1][2]]))[0]
    assert ramp_back == pytest.approx(0.0, abs=0.05)  # back on the lane


def test_last_dwell_completes_the_mission_and_the_van_holds():
    path, progress = bay_setup(dwell_s=2.0)
    log = run(planner(), IdealVan(path), 45.0, progress=progress)
    ((t_done, _),) = events(log, EventKind.MISSION_COMPLETE)
    after = [(d, s) for t, d, s, *_ in log if t >= t_done]
    assert all(d.state is State.MISSION_COMPLETE and d.speed_cap_mps == 0.0 for d, _ in after)
    assert max(s for _, s in after) - min(s for _, s in after) < 1e-9


# --- stop lines ----------------------------------------------------------------------------------
STOP_LINE_S = 60.0


def stop_line_path():
    return straight_path(stops=[RouteStop("stop_line", "I3", STOP_LINE_S, STOP_LINE_S, LANELET)])


def test_stops_at_the_stop_line_for_a_full_second_then_proceeds():
    log = run(planner(), IdealVan(stop_line_path()), 40.0)
    standing = [
        t
        for t, d, s, v, _ in log
        if v < STANDSTILL_SPEED_MPS and s > 10.0 and s + FRONT_M < STOP_LINE_S
    ]
    ((t_go, _),) = events(log, EventKind.STOP_LINE_CLEARED)
    assert standing and t_go - standing[0] >= FULL_STOP_S
    front_when_stopped = [s + FRONT_M for t, d, s, *_ in log if t == standing[0]][0]
    limit = STOP_LINE_S - STOP_LINE_SETBACK_M
    assert limit - mpc.STOP_SHORT_M - 0.1 <= front_when_stopped <= limit
    assert any(d.state is State.STOP_LINE_WAIT for _, d, *_ in log)
    assert log[-1][2] + FRONT_M > STOP_LINE_S + 30.0  # and drove through


def test_waits_at_the_stop_line_while_cross_traffic_approaches():
    # A car on the crossing street (x = 76), coming from the south at 8 m/s, crosses at t ≈ 12 s.
    def cross_traffic(t):
        return table((7, ObjectClass.CAR, 76.0, -96.0 + 8.0 * t, math.pi / 2, 0.0, 8.0))

    log = run(planner(), IdealVan(stop_line_path()), 40.0, objects=cross_traffic)
    ((t_go, _),) = events(log, EventKind.STOP_LINE_CLEARED)
    car_y_at_go = -96.0 + 8.0 * t_go
    assert car_y_at_go > 0.0  # left only once the car had crossed the van's path
    assert log[-1][2] + FRONT_M > STOP_LINE_S


# --- traffic lights ------------------------------------------------------------------------------
SIGNAL_S = 100.0
SIGNAL_ID = 1835
CRUISE_MPS = 11.11
SHORTEST_AMBER_S = 3.0  # what road authorities give approaches up to 50 km/h
RED, AMBER, GREEN = ct.TrafficLightState.RED, ct.TrafficLightState.AMBER, ct.TrafficLightState.GREEN


def signal_path():
    return straight_path(
        stops=[RouteStop("traffic_light", "I3_west", SIGNAL_S, SIGNAL_S, LANELET, SIGNAL_ID)]
    )


def cruising_van(front_before_line_m, at_t_s):
    """A van at the limit whose front bumper is front_before_line_m short of the line at at_t_s."""
    s0 = SIGNAL_S - front_before_line_m - FRONT_M - CRUISE_MPS * at_t_s
    return IdealVan(signal_path(), s_m=s0, speed_mps=CRUISE_MPS)


def shows(*changes):
    """signals(t) for a signal that shows each state from its time on: (t, state), ..."""
    return lambda t: {SIGNAL_ID: next(st for t0, st in reversed(changes) if t >= t0)}


def crossed_at(log):
    return next((t for t, _, s, *_ in log if s + FRONT_M > SIGNAL_S), None)


def test_stops_at_the_line_on_red_and_waits_there():
    log = run(planner(), IdealVan(signal_path()), 40.0, signals=shows((0.0, RED)))
    assert crossed_at(log) is None
    front = log[-1][2] + FRONT_M
    limit = SIGNAL_S - STOP_LINE_SETBACK_M
    assert limit - mpc.STOP_SHORT_M - 0.1 <= front <= limit
    assert log[-1][1].state is State.TRAFFIC_LIGHT_WAIT and log[-1][1].reason == "red light I3_west"


def test_moves_off_as_soon_as_red_turns_green():
    log = run(planner(), IdealVan(signal_path()), 40.0, signals=shows((0.0, RED), (25.0, GREEN)))
    assert all(v < STANDSTILL_SPEED_MPS for t, _, _, v, _ in log if 20.0 <= t < 25.0)
    moving = next(t for t, _, _, v, _ in log if t >= 25.0 and v >= STANDSTILL_SPEED_MPS)
    assert moving - 25.0 <= DT_S + 1e-9
    assert crossed_at(log) is not None


def test_drives_through_a_green_light_without_slowing():
    log = run(planner(), cruising_van(80.0, 0.0), 12.0, signals=shows((0.0, GREEN)))
    assert crossed_at(log) is not None
    assert min(v for *_, v, _ in log) == pytest.approx(CRUISE_MPS)


def test_stops_on_amber_when_a_comfortable_stop_ends_before_the_line():
    log = run(planner(), cruising_van(45.0, 2.0), 20.0, signals=shows((0.0, GREEN), (2.0, AMBER)))
    assert crossed_at(log) is None
    assert log[-1][3] < STANDSTILL_SPEED_MPS
    assert min(d.min_accel_mps2 for _, d, *_ in log) == mpc.COMFORT_MIN_ACCEL_MPS2


def test_goes_on_through_amber_and_the_red_after_it_when_too_close_to_stop_comfortably():
    changes = ((0.0, GREEN), (2.0, AMBER), (3.0, RED))
    log = run(planner(), cruising_van(20.0, 2.0), 6.0, signals=shows(*changes))
    t_cross = crossed_at(log)
    assert t_cross is not None and t_cross < 2.0 + 3.0  # within the amber of a real signal
    assert min(v for *_, v, _ in log) == pytest.approx(CRUISE_MPS)


def test_a_red_seen_too_late_to_stop_even_braking_hard_is_driven_through():
    log = run(planner(), cruising_van(4.0, 2.0), 4.0, signals=shows((0.0, GREEN), (2.0, RED)))
    assert crossed_at(log) is not None
    assert all(d.state is not State.APPROACH_STOP for _, d, *_ in log)


def test_a_red_seen_late_is_stopped_for_with_the_vans_full_braking():
    log = run(planner(), cruising_van(20.0, 2.0), 10.0, signals=shows((0.0, GREEN), (2.0, RED)))
    assert crossed_at(log) is None
    assert min(d.min_accel_mps2 for _, d, *_ in log) == VEHICLE.min_accel_mps2


def test_stop_distance_with_an_instant_brake_is_reaction_then_constant_deceleration():
    v = 10.0
    expected = v * REACTION_S + v**2 / (2.0 * 3.0)
    assert stop_distance_m(v, 3.0, 1e9) == pytest.approx(expected, rel=1e-6)


def test_at_30_kmh_a_van_too_close_to_stop_comfortably_reaches_the_line_within_3s_of_amber():
    v = 30.0 / 3.6
    beyond_comfort = stop_distance_m(v, COMFORT_DECEL_MPS2, COMFORT_JERK_MPS3)
    assert beyond_comfort / v < SHORTEST_AMBER_S


def test_a_signal_not_seen_is_an_all_way_stop():
    log = run(planner(), IdealVan(signal_path()), 40.0)  # no report of the signal at all
    ((t_go, event),) = events(log, EventKind.STOP_LINE_CLEARED)
    standing = [t for t, _, s, v, _ in log if v < STANDSTILL_SPEED_MPS and s > 10.0]
    assert standing and t_go - standing[0] >= FULL_STOP_S
    assert event.name == "I3_west"
    assert any(d.state is State.STOP_LINE_WAIT for _, d, *_ in log)
    assert crossed_at(log) is not None


def test_a_signal_showing_unknown_is_an_all_way_stop_like_one_not_seen():
    unseen = run(planner(), IdealVan(signal_path()), 40.0)
    unknown = run(
        planner(),
        IdealVan(signal_path()),
        40.0,
        signals=shows((0.0, ct.TrafficLightState.UNKNOWN)),
    )
    assert crossed_at(unknown) == crossed_at(unseen)


# --- crosswalks ----------------------------------------------------------------------------------
CROSSWALK_S = (70.0, 74.0)
CROSSWALK_ID = 501
CROSSWALK_POLYGON = np.array([[70.0, -6.0], [74.0, -6.0], [74.0, 6.0], [70.0, 6.0]])


def crosswalk_path():
    return straight_path(stops=[RouteStop("crosswalk", "I3_west", *CROSSWALK_S, CROSSWALK_ID)])


def walker(t, start_y=-7.5, speed=1.2, start_t=0.0):
    y = start_y + speed * max(t - start_t, 0.0)
    moving = speed if t >= start_t else 0.0
    return table((3, ObjectClass.PEDESTRIAN, 72.0, y, math.pi / 2, 0.0, moving))


def test_yields_to_a_pedestrian_entering_the_crosswalk_then_proceeds():
    log = run(
        planner(crosswalk_polygons={CROSSWALK_ID: CROSSWALK_POLYGON}),
        IdealVan(crosswalk_path(), speed_mps=8.0),
        40.0,
        objects=walker,
    )
    assert any(d.state is State.YIELD_CROSSWALK for _, d, *_ in log)
    on_crosswalk = [(t, s) for t, d, s, v, objs in log if -6.0 - 0.3 <= objs["y"][0] <= 6.0 + 0.3]
    assert all(s + FRONT_M <= CROSSWALK_S[0] for _, s in on_crosswalk)  # never entered meanwhile
    t_cleared = on_crosswalk[-1][0]
    assert log[-1][2] + FRONT_M > CROSSWALK_S[1] + 10.0  # went on after it cleared
    t_moving = next(t for t, d, s, v, _ in log if t > t_cleared and v > 0.5)
    assert t_moving - t_cleared < 4.0


def test_pedestrian_standing_still_at_the_kerb_is_not_yielded_to():
    def still(t):  # 1 m from the crosswalk, not moving
        return walker(t, start_y=-7.0, speed=0.0)

    log = run(
        planner(crosswalk_polygons={CROSSWALK_ID: CROSSWALK_POLYGON}),
        IdealVan(crosswalk_path(), speed_mps=8.0),
        15.0,
        objects=still,
    )
    assert all(d.state is not State.YIELD_CROSSWALK for _, d, *_ in log)
    assert log[-1][2] > CROSSWALK_S[1]


def test_no_chatter_when_a_pedestrian_hovers_at_the_crosswalk_distance_threshold():
    # Walking toward the crosswalk, but the box jitters across the 2 m threshold every table.
    def hovering(t):
        k = int(round(t / DT_S))
        y = -6.0 - CROSSWALK_NEAR_M + (0.05 if k % 2 else -0.05)
        return table((3, ObjectClass.PEDESTRIAN, 72.0, y, math.pi / 2, 0.0, 0.5))

    log = run(
        planner(crosswalk_polygons={CROSSWALK_ID: CROSSWALK_POLYGON}),
        IdealVan(crosswalk_path(), s_m=30.0),
        20.0,
        objects=hovering,
    )
    assert transitions(log) <= 1


# --- obstacles and leads -------------------------------------------------------------------------
def test_stops_behind_an_obstacle_in_the_lane_with_at_least_four_metres():
    def standing_person(t):
        return table((9, ObjectClass.PEDESTRIAN, 60.0, 0.3, 0.0, 0.0, 0.0))

    log = run(planner(), IdealVan(straight_path(), speed_mps=10.0), 25.0, objects=standing_person)
    _, decision, s_van, v, _ = log[-1]
    assert decision.state is State.STOP_FOR_OBSTACLE and v < STANDSTILL_SPEED_MPS
    gap = (60.0 - 0.3) - (s_van + FRONT_M)
    assert STANDSTILL_GAP_M - 0.05 <= gap <= STANDSTILL_GAP_M + 1.0


def test_emergency_braking_is_allowed_when_an_obstacle_appears_close():
    def sudden(t):
        return table((9, ObjectClass.PEDESTRIAN, 30.0, 0.0, 0.0, 0.0, 0.0))

    decision = planner().step(
        0.0,
        mpc.VanState(0.0, 10.0, 0.0, 0.0, 10.0),
        straight_path(),
        10.0,
        sudden(0.0),
        MissionProgress(()),
    )
    assert decision.min_accel_mps2 == VEHICLE.min_accel_mps2


def test_a_car_whose_box_left_the_path_is_braked_for_no_harder_than_comfort_while_released():
    def sliding_parked_car(t):  # a parked car's box slides into the lane for 0.2 s, then back
        y = -1.0 if t < 0.2 else -3.2
        return table((9, ObjectClass.CAR, 40.0, y, 0.0, 0.0, 0.0))

    bh_planner, path = planner(), straight_path()
    decisions = [
        bh_planner.step(
            t,
            mpc.VanState(t, 10.0, 0.0, 0.0, 10.0),
            path,
            10.0,
            sliding_parked_car(t),
            MissionProgress(()),
        )
        for t in np.arange(0.0, 0.8, DT_S)
    ]
    assert (
        decisions[0].min_accel_mps2 == VEHICLE.min_accel_mps2
    )  # in the lane, 26 m ahead at 10 m/s
    assert decisions[0].s_stop_front_m < 40.0
    assert all(d.min_accel_mps2 == mpc.COMFORT_MIN_ACCEL_MPS2 for d in decisions[2:])


def lead_on_straight(t, start_s=40.0, speed=6.0):
    return table((5, ObjectClass.CAR, start_s + speed * t, 0.0, 0.0, speed, 0.0))


def test_stop_point_behind_a_lead_keeps_the_time_gap_at_its_predicted_position():
    van_speed, lead_rear = 8.0, 30.0 - 2.25
    decision = planner().step(
        0.0,
        mpc.VanState(0.0, 0.0, 0.0, 0.0, van_speed),
        straight_path(),
        0.0,
        lead_on_straight(0.0, start_s=30.0),
        MissionProgress(()),
    )
    assert decision.state is State.FOLLOW
    desired = STANDSTILL_GAP_M + TIME_GAP_S * van_speed
    predicted_rear = lead_rear + 6.0 * HORIZON.t_s
    np.testing.assert_allclose(
        decision.s_stop_front_per_stage_m, predicted_rear - desired, atol=0.01
    )
    assert decision.s_stop_front_m == pytest.approx(predicted_rear[-1] - desired, abs=0.01)
    gap_now = lead_rear - FRONT_M
    assert decision.speed_cap_mps == pytest.approx(6.0 + (gap_now - desired) / GAP_CLOSING_TIME_S)


def test_follows_a_lead_on_a_curve_at_no_less_than_the_time_gap():
    radius, lead_speed = 60.0, 6.0
    path = curved_path(radius)

    def lead(t):
        angle = (45.0 + lead_speed * t) / radius
        return table(
            (
                5,
                ObjectClass.CAR,
                radius * math.sin(angle),
                radius * (1 - math.cos(angle)),
                angle,
                lead_speed * math.cos(angle),
                lead_speed * math.sin(angle),
            )
        )

    log = run(planner(), IdealVan(path, speed_mps=9.0), 30.0, objects=lead)
    assert all(d.state is State.FOLLOW for _, d, *_ in log[5:])
    for t, _d, s, v, _ in log[50:]:
        gap = (45.0 + lead_speed * t - 2.25) - (s + FRONT_M)
        assert gap >= STANDSTILL_GAP_M + (TIME_GAP_S - 0.05) * v
    t, d, s, v, _ = log[-1]
    assert v == pytest.approx(lead_speed, abs=0.2)


def test_holds_at_standstill_without_creeping_when_the_obstacle_box_jitters():
    def jittery(t):
        k = int(round(t / DT_S))
        return table(
            (9, ObjectClass.PEDESTRIAN, 40.0 + 0.3 * math.sin(1.7 * k), 0.0, 0.0, 0.0, 0.0)
        )

    log = run(planner(), IdealVan(straight_path(), s_m=20.0), 30.0, objects=jittery)
    stopped = [(d, s) for t, d, s, v, _ in log if t > 10.0]
    assert max(s for _, s in stopped) - min(s for _, s in stopped) < 1e-9
    stops = [d.s_stop_front_m for d, _ in stopped]
    assert max(stops) - min(stops) < RESUME_DEADBAND_M


def test_no_state_chatter_when_an_object_hovers_at_the_in_path_threshold():
    # A standing person beside the lane; its box edge jitters across the 0.5 m in-path clearance.
    edge = HALF_WIDTH_M + IN_PATH_ENTER_M

    def hovering(t):
        k = int(round(t / DT_S))
        return table(
            (
                9,
                ObjectClass.PEDESTRIAN,
                50.0,
                -(edge + 0.3 + (0.04 if k % 2 else -0.04)),
                0.0,
                0.0,
                0.0,
            )
        )

    log = run(planner(), IdealVan(straight_path(), speed_mps=6.0), 25.0, objects=hovering)
    assert transitions(log) <= 1
    speeds = [v for *_, v, _ in log]
    restarts = sum(a < STANDSTILL_SPEED_MPS <= b for a, b in zip(speeds, speeds[1:]))
    assert restarts == 0  # no stop-and-go


# --- passing static blockages --------------------------------------------------------------------
PARKED_S, PARKED_D = 70.0, -0.6  # a double-parked van, half in the lane


def parked_van(t):
    return table((11, ObjectClass.VAN_TRUCK, PARKED_S, PARKED_D, 0.0, 0.0, 0.0))


def test_passes_a_parked_van_with_smooth_ramps_inside_the_corridor():
    path = straight_path()
    log = run(planner(), IdealVan(path, speed_mps=5.0), 35.0, objects=parked_van)
    passing = [d for _, d, *_ in log if d.state is State.PASS_OBSTACLE]
    assert passing
    (plateau,) = [p for p in passing[0].offset.plateaus if p.d_m > 0.0]
    assert plateau.s1_m - plateau.s0_m >= MIN_RAMP_M
    assert plateau.s3_m - plateau.s2_m >= MIN_RAMP_M
    d, slope = passing[0].offset.at(path.s_m)
    room = path.left_width_m + path.left_adjacent_width_m
    assert np.all(d + HALF_WIDTH_M + CORRIDOR_MARGIN_M <= room + 1e-9)
    assert np.max(np.abs(np.diff(d))) < 0.15  # continuous on 0.5 m samples
    assert np.max(np.abs(slope)) < 0.25
    beside = np.abs(path.s_m - PARKED_S) <= 5.9 / 2.0
    assert np.all(d[beside] - HALF_WIDTH_M >= PARKED_D + 1.0 + PASS_LATERAL_CLEARANCE_M - 1e-5)
    speeds = [v for t, d, s, v, _ in log]
    assert min(speeds) > 1.0  # passed without stopping
    assert log[-1][2] > PARKED_S + 20.0


def test_does_not_pass_while_an_oncoming_car_is_in_the_adjacent_lane():
    def with_oncoming(t):
        return np.concatenate(
            [
                parked_van(t),
                table(
                    (
                        12,
                        ObjectClass.CAR,
                        200.0 - 8.0 * t,
                        ONCOMING_LANE_M / 2 + 1.75,
                        math.pi,
                        -8.0,
                        0.0,
                    )
                ),
            ]
        )

    log = run(planner(), IdealVan(straight_path(), speed_mps=5.0), 12.0, objects=with_oncoming)
    assert all(d.state is not State.PASS_OBSTACLE for _, d, *_ in log)
    assert all(p.d_m <= 0.0 for _, d, *_ in log for p in d.offset.plateaus)
    _, decision, s_van, v, _ = log[-1]
    assert decision.state is State.STOP_FOR_OBSTACLE and v < STANDSTILL_SPEED_MPS
    assert PARKED_S - 2.95 - (s_van + FRONT_M) >= STANDSTILL_GAP_M


def test_passes_once_the_oncoming_car_has_gone_by():
    def with_oncoming(t):
        return np.concatenate(
            [
                parked_van(t),
                table(
                    (
                        12,
                        ObjectClass.CAR,
                        120.0 - 8.0 * t,
                        ONCOMING_LANE_M / 2 + 1.75,
                        math.pi,
                        -8.0,
                        0.0,
                    )
                ),
            ]
        )

    log = run(planner(), IdealVan(straight_path(), speed_mps=5.0), 45.0, objects=with_oncoming)
    t_pass = next(t for t, d, *_ in log if d.state is State.PASS_OBSTACLE)
    car_s_at_pass = 120.0 - 8.0 * t_pass
    assert car_s_at_pass < PARKED_S - 20.0  # the car was well past the blockage
    assert log[-1][2] > PARKED_S + 10.0


def test_gives_up_a_pass_for_an_oncoming_car_first_seen_while_pulling_out():
    free = run(planner(), IdealVan(straight_path(), speed_mps=5.0), 20.0, objects=parked_van)
    (plateau,) = next(d.offset.plateaus for _, d, *_ in free if d.state is State.PASS_OBSTACLE)
    t_seen = next(t for t, d, s, *_ in free if s >= plateau.s0_m + 2.0)  # on the ramp out

    def late_oncoming(t):  # out of sight (beyond range, behind the van) until t_seen
        car = table(
            (
                12,
                ObjectClass.CAR,
                150.0 - 9.0 * (t - t_seen),
                ONCOMING_LANE_M / 2 + 1.75,
                math.pi,
                -9.0,
                0.0,
            )
        )
        return np.concatenate([parked_van(t), car]) if t >= t_seen else parked_van(t)

    log = run(planner(), IdealVan(straight_path(), speed_mps=5.0), 45.0, objects=late_oncoming)
    after = [(t, d, s) for t, d, s, *_ in log if t_seen + 0.5 <= t <= t_seen + 5.0]
    assert all(not any(p.d_m > 0.0 for p in d.offset.plateaus) for _, d, _ in after)  # back in lane
    t_pass = next(t for t, d, *_ in log if t > t_seen and d.state is State.PASS_OBSTACLE)
    assert 150.0 - 9.0 * (t_pass - t_seen) < PARKED_S - 20.0  # it passed once the car had gone by
    assert log[-1][2] > PARKED_S + 10.0


def test_a_stop_in_the_middle_of_a_pass_keeps_the_pass_offset():
    def person_in_the_passing_lane(t):  # steps out just past the parked van while the van passes
        person = table((14, ObjectClass.PEDESTRIAN, PARKED_S + 8.0, 2.3, 0.0, 0.0, 0.0))
        return np.concatenate([parked_van(t), person]) if 9.0 <= t < 20.0 else parked_van(t)

    log = run(
        planner(),
        IdealVan(straight_path(), speed_mps=5.0),
        35.0,
        objects=person_in_the_passing_lane,
    )
    stopped = [(d, s) for t, d, s, v, _ in log if 9.0 < t < 20.0 and v < STANDSTILL_SPEED_MPS]
    assert stopped and all(d.state is State.STOP_FOR_OBSTACLE for d, _ in stopped)
    pass_offset = max(p.d_m for d, _ in stopped for p in d.offset.plateaus)
    for d, s in stopped:
        # no ramp "back" from the pass offset while standing (the person's speed cap has none)
        assert len([p for p in d.offset.plateaus if p.d_m != 0.0]) == 1
        assert d.offset.offset_m(np.array([s]))[0] <= pass_offset + 1e-9
    assert log[-1][2] > PARKED_S + 20.0


@pytest.mark.parametrize(
    "labelled_after_s", [0.0, 3.0]
)  # at once, or an unlabelled cluster at first
def test_waits_behind_a_vehicle_standing_in_the_lane_far_enough_back_to_pull_out_later(
    labelled_after_s,
):
    def oncoming_stream(t):  # three cars keep the passing lane busy until the van has stopped
        cars = [
            (
                20 + k,
                ObjectClass.CAR,
                150.0 + 25.0 * k - 8.0 * t,
                ONCOMING_LANE_M / 2 + 1.75,
                math.pi,
                -8.0,
                0.0,
            )
            for k in range(3)
        ]
        van = parked_van(t)
        if t < labelled_after_s:
            van["class_id"] = ObjectClass.UNKNOWN
        return np.concatenate([van, table(*cars)])

    log = run(planner(), IdealVan(straight_path(), speed_mps=11.0), 50.0, objects=oncoming_stream)
    s_stopped = next(s for t, d, s, v, _ in log if v < STANDSTILL_SPEED_MPS)
    gap = PARKED_S - 2.95 - (s_stopped + FRONT_M)
    d_pass = 0.4 + PASS_LATERAL_CLEARANCE_M + HALF_WIDTH_M  # the van reaches 0.4 m over the centre
    pull_out = math.pi * math.sqrt(d_pass / (2.0 * PASS_PULL_OUT_MAX_CURVATURE_PER_M))
    assert gap >= PASS_LONGITUDINAL_CLEARANCE_M + pull_out
    assert any(d.state is State.PASS_OBSTACLE for _, d, *_ in log)
    assert log[-1][2] > PARKED_S + 10.0


def test_pulls_out_from_close_behind_a_blockage_on_a_tight_ramp_at_walking_pace():
    s_start = PARKED_S - 2.95 - FRONT_M - 14.0  # front bumper 14 m behind it: 12 m for the ramp
    log = run(planner(), IdealVan(straight_path(), s_m=s_start), 40.0, objects=parked_van)
    passing = [d for _, d, *_ in log if d.state is State.PASS_OBSTACLE]
    assert passing
    (plateau,) = [p for p in passing[0].offset.plateaus if p.d_m > 0.0]
    ramp = plateau.s1_m - plateau.s0_m
    assert ramp < MIN_RAMP_M
    assert math.pi**2 * plateau.d_m / (2.0 * ramp**2) <= PASS_PULL_OUT_MAX_CURVATURE_PER_M
    on_ramp = [v for t, d, s, v, _ in log if plateau.s0_m <= s <= plateau.s1_m]
    lateral_accel = math.pi**2 * plateau.d_m * max(on_ramp) ** 2 / (2.0 * ramp**2)
    assert lateral_accel <= PASS_RAMP_LATERAL_ACCEL_MPS2 + 1e-6
    assert log[-1][2] > PARKED_S + 10.0


def test_left_standing_closer_still_gets_out_from_standstill_on_the_tightest_ramp_at_a_crawl():
    """9.5 m behind the blockage (where a pass given up for oncoming traffic seen late left it),
    too close for the usual pull-out: it gets out on up to nine tenths of the steering lock,
    rather than wait for ever for a parked van to leave."""
    s_start = PARKED_S - 2.95 - FRONT_M - 9.5
    bp, van = planner(), IdealVan(straight_path(), s_m=s_start)
    for k in range(40):  # standing there while the blockage is seen to be parked
        bp.step(
            k * DT_S,
            van.state(k * DT_S),
            van.path,
            van.s,
            parked_van(k * DT_S),
            MissionProgress(()),
        )
    log = run(bp, van, 40.0, objects=parked_van, t0_s=4.0)
    (plateau,) = next(
        [p for p in d.offset.plateaus if p.d_m > 0.0]
        for _, d, *_ in log
        if d.state is State.PASS_OBSTACLE
    )
    ramp = plateau.s1_m - plateau.s0_m
    assert plateau.s0_m == pytest.approx(s_start)
    assert math.pi**2 * plateau.d_m / (2.0 * ramp**2) <= PASS_TIGHT_PULL_OUT_CURVATURE_PER_M
    assert (
        PASS_TIGHT_PULL_OUT_CURVATURE_PER_M
        < 0.9 * math.tan(VEHICLE.max_steer_rad) / VEHICLE.wheelbase_m
    )
    on_ramp = [v for t, d, s, v, _ in log if plateau.s0_m <= s <= plateau.s1_m]
    assert (
        math.pi**2 * plateau.d_m * max(on_ramp) ** 2 / (2.0 * ramp**2)
        <= PASS_RAMP_LATERAL_ACCEL_MPS2 + 1e-6
    )
    assert log[-1][2] > PARKED_S + 10.0


def test_requests_a_reroute_when_blocked_long_and_passing_is_impossible():
    narrow = straight_path(left_kind=AdjacentKind.NONE)  # no adjacent lane: the van cannot fit by
    log = run(planner(), IdealVan(narrow, speed_mps=5.0), 45.0, objects=parked_van)
    requests = events(log, EventKind.REROUTE_REQUESTED)
    assert len(requests) == 1
    t_request, request = requests[0]
    assert request.lanelet_id == LANELET and request.x_m == pytest.approx(PARKED_S)
    t_stopped = next(t for t, d, s, v, _ in log if v < STANDSTILL_SPEED_MPS)
    assert t_request - t_stopped >= REROUTE_AFTER_S - 2 * DT_S


def test_does_not_pass_when_the_lane_beyond_the_blockage_is_not_free():
    def beyond(t):  # the parked van, and a cyclist riding slowly in the lane just past it
        return np.concatenate(
            [
                parked_van(t),
                table((13, ObjectClass.CYCLIST, PARKED_S + 12.0 + 1.5 * t, 0.0, 0.0, 1.5, 0.0)),
            ]
        )

    log = run(planner(), IdealVan(straight_path(), speed_mps=5.0), 12.0, objects=beyond)
    assert all(d.state is not State.PASS_OBSTACLE for _, d, *_ in log)
    assert log[-1][1].state is State.STOP_FOR_OBSTACLE


def test_does_not_pass_a_standing_vehicle_just_before_a_stop_line():
    path = straight_path(
        stops=[RouteStop("stop_line", "I1", PARKED_S + 8.0, PARKED_S + 8.0, LANELET)]
    )
    log = run(planner(), IdealVan(path, speed_mps=5.0), 20.0, objects=parked_van)
    assert all(d.state is not State.PASS_OBSTACLE for _, d, *_ in log)


# --- hand-over to the MPC ------------------------------------------------------------------------
def test_mpc_reference_path_moves_by_the_offset_and_measures_the_corridor_from_there():
    path = straight_path()
    plateau = bh.OffsetPlateau(20.0, 40.0, 60.0, 80.0, 2.0, use_adjacent=True)
    speed = SpeedProfile((plateau.limit(5.0, "passing"),))
    decision = bh.BehaviourDecision(
        0.0,
        State.PASS_OBSTACLE,
        "",
        100.0,
        100.0 - FRONT_M,
        np.full(41, 100.0),
        0.0,
        speed,
        -3.0,
        bh.LateralOffsetProfile((plateau,)),
        None,
        (),
        MissionProgress(()),
    )
    reference = bh.mpc_reference_path(path, decision)
    i = path.index_at(50.0)
    assert (reference.x_m[i], reference.y_m[i]) == pytest.approx((50.0, 2.0))
    assert reference.s_m[i] == 50.0
    assert reference.left_width_m[i] == pytest.approx(LANE_HALF_M + ONCOMING_LANE_M - 2.0)
    assert reference.right_width_m[i] == pytest.approx(LANE_HALF_M + 2.0)
    far = path.index_at(150.0)
    assert reference.left_width_m[far] == pytest.approx(
        LANE_HALF_M
    )  # no adjacent lane off the plateau
    assert np.all(reference.speed_mps[(path.s_m >= 20.0) & (path.s_m <= 80.0)] <= 5.0)
    ramp = path.index_at(30.0)
    assert reference.yaw_rad[ramp] == pytest.approx(math.atan(math.pi * 2.0 / (2 * 20.0)), abs=1e-3)


def oncoming_car(t):
    return table(
        (6, ObjectClass.CAR, 60.0 - 6.0 * t, ONCOMING_LANE_M / 2 + LANE_HALF_M, math.pi, -6.0, 0.0)
    )


def test_mpc_obstacles_carry_the_predicted_boxes():
    decision = planner().step(
        0.0,
        mpc.VanState(0.0, 0.0, 0.0, 0.0, 5.0),
        straight_path(),
        0.0,
        oncoming_car(0.0),
        MissionProgress(()),
    )
    obstacles = bh.mpc_obstacles(decision)
    assert len(obstacles) == 1
    np.testing.assert_allclose(obstacles.x_m[0], 60.0 - 6.0 * HORIZON.t_s, atol=1e-4)
    assert (obstacles.semi_length_m[0], obstacles.semi_width_m[0]) == pytest.approx((2.25, 0.9))


def test_what_the_van_stops_or_follows_for_is_not_an_mpc_obstacle():
    objects = np.concatenate([lead_on_straight(0.0), oncoming_car(0.0)])
    decision = planner().step(
        0.0,
        mpc.VanState(0.0, 0.0, 0.0, 0.0, 5.0),
        straight_path(),
        0.0,
        objects,
        MissionProgress(()),
    )
    assert decision.state is State.FOLLOW
    assert decision.obstacles.track_id.tolist() == [6]


# --- yielding mid-block, emergency limits --------------------------------------------------------
def pedestrian_walking(vy_mps, y0_m=-5.0, x_m=40.0):
    return table((21, ObjectClass.PEDESTRIAN, x_m, y0_m, math.pi / 2, 0.0, vy_mps))


def test_pedestrian_heading_into_the_path_is_yielded_to_before_they_reach_it():
    # Enters the van's band (half width + 0.5 m) in ~2.7 s: later than the in-path horizon.
    decision = planner().step(
        0.0,
        mpc.VanState(0.0, 0.0, 0.0, 0.0, 10.0),
        straight_path(),
        0.0,
        pedestrian_walking(1.2),
        MissionProgress(()),
    )
    assert decision.state is State.STOP_FOR_OBSTACLE
    assert decision.s_stop_front_m == pytest.approx((40.0 - 0.3) - STANDSTILL_GAP_M)
    assert decision.min_accel_mps2 == mpc.COMFORT_MIN_ACCEL_MPS2  # a gentle stop, not an emergency


def test_pedestrian_heading_into_the_path_too_close_to_stop_gently_for_is_not_yielded_to():
    decision = planner().step(
        0.0,
        mpc.VanState(0.0, 0.0, 0.0, 0.0, 10.0),
        straight_path(),
        0.0,
        pedestrian_walking(1.2, x_m=15.0),
        MissionProgress(()),
    )
    assert decision.state is State.CRUISE


def test_pedestrian_the_van_would_meet_where_they_step_in_is_stopped_for_as_hard_as_needed():
    """Too close to stop gently for, yet the van would not be past before they step in (a
    jaywalker seen between parked cars): it stops, with full braking allowed."""
    decision = planner().step(
        0.0,
        mpc.VanState(0.0, 0.0, 0.0, 0.0, 10.0),
        straight_path(),
        0.0,
        pedestrian_walking(1.2, x_m=20.0),
        MissionProgress(()),
    )
    assert decision.state is State.STOP_FOR_OBSTACLE
    assert decision.s_stop_front_m == pytest.approx((20.0 - 0.3) - STANDSTILL_GAP_M)
    assert decision.min_accel_mps2 < mpc.COMFORT_MIN_ACCEL_MPS2


def test_pedestrian_setting_off_slowly_toward_the_path_is_judged_at_walking_pace():
    """0.7 m/s is a tracker's first estimate of someone setting off: at that speed the van would be
    past 1 s before they step in, at a walking pace it would not, and it stops."""
    decision = planner().step(
        0.0,
        mpc.VanState(0.0, 0.0, 0.0, 0.0, 10.0),
        straight_path(),
        0.0,
        pedestrian_walking(0.7, y0_m=-4.0, x_m=20.0),
        MissionProgress(()),
    )
    assert decision.state is State.STOP_FOR_OBSTACLE
    assert decision.min_accel_mps2 < mpc.COMFORT_MIN_ACCEL_MPS2


@pytest.mark.parametrize("y_m, capped", [(-4.0, True), (-7.0, False)])
def test_pedestrian_standing_at_the_kerb_ahead_is_passed_slowly(y_m, capped):
    """Someone standing 3 m beside the van's band 20 m ahead may step out: the van passes them
    slowly; someone 6 m off does not slow it."""
    decision = planner().step(
        0.0,
        mpc.VanState(0.0, 0.0, 0.0, 0.0, 10.0),
        straight_path(),
        0.0,
        pedestrian_walking(0.0, y0_m=y_m, x_m=20.0),
        MissionProgress(()),
    )
    passing = decision.speed_limits.cap_mps(
        np.array([20.0 - FRONT_M]), mpc.STOP_PROFILE_DECEL_MPS2
    )[0]
    assert decision.state is State.CRUISE
    assert (passing <= KERBSIDE_SPEED_MPS) == capped
    assert decision.offset.offset_m(np.array([20.0 - FRONT_M]))[0] == 0.0


def test_stop_points_of_yields_that_ended_are_forgotten():
    """A van that drives all day meets thousands of tracks: nothing is kept per track once its
    yield is over."""
    bp, path = planner(), straight_path()
    for k in range(60):
        objects = pedestrian_walking(1.2) if k < 10 else NO_OBJECTS
        bp.step(
            0.1 * k,
            mpc.VanState(0.1 * k, 0.0, 0.0, 0.0, 10.0),
            path,
            0.0,
            objects,
            MissionProgress(()),
        )
    assert bp.object_limits._caution_s == {} and bp.mirrors._mirror_s == {}


def test_pedestrian_walking_away_from_the_path_is_not_yielded_to():
    decision = planner().step(
        0.0,
        mpc.VanState(0.0, 0.0, 0.0, 0.0, 10.0),
        straight_path(),
        0.0,
        pedestrian_walking(-1.2),
        MissionProgress(()),
    )
    assert decision.state is State.CRUISE and decision.speed_limit == (math.inf, "")


def test_an_emergency_stop_may_put_the_brake_on_as_fast_as_the_bridge_allows():
    sudden = table((9, ObjectClass.PEDESTRIAN, 30.0, 0.0, 0.0, 0.0, 0.0))
    emergency = planner().step(
        0.0,
        mpc.VanState(0.0, 10.0, 0.0, 0.0, 10.0),
        straight_path(),
        10.0,
        sudden,
        MissionProgress(()),
    )
    calm = planner().step(
        0.0,
        mpc.VanState(0.0, 0.0, 0.0, 0.0, 10.0),
        straight_path(),
        0.0,
        NO_OBJECTS,
        MissionProgress(()),
    )
    assert bh.mpc_limits(emergency).max_jerk_mps3 == MAX_JERK_FALL_MPS3
    assert bh.mpc_limits(calm).max_jerk_mps3 == mpc.COMFORT_JERK_MPS3


# --- speed for the view --------------------------------------------------------------------------
def standing_for(seconds_s, rows):
    """Decisions of a planner that has seen `rows` stand still for seconds_s, the van at 10 m/s."""
    bp, path, decision = planner(), straight_path(), None
    for k in range(int(seconds_s * 10) + 1):
        decision = bp.step(
            0.1 * k,
            mpc.VanState(0.1 * k, 0.0, 0.0, 0.0, 10.0),
            path,
            0.0,
            table(*rows),
            MissionProgress(()),
        )
    return decision


def test_a_vehicle_standing_in_the_roadway_is_passed_at_a_crawl_at_both_its_ends():
    decision = standing_for(
        BLOCKAGE_STILL_S + 0.5, [(11, ObjectClass.VAN_TRUCK, 60.0, -0.6, 0.0, 0.0, 0.0)]
    )
    ends = {
        limit.reason: limit
        for limit in decision.speed_limits.limits
        if "view blocked" in limit.reason
    }
    assert set(ends) == {"view blocked by 11 (its near end)", "view blocked by 11 (its far end)"}
    near = ends["view blocked by 11 (its near end)"]
    assert near.s0_m == pytest.approx(60.0 - 5.9 / 2.0 - FRONT_M) and near.speed_mps < 3.0


def test_a_bus_that_has_just_stopped_in_the_roadway_blocks_the_view_at_once():
    decision = standing_for(0.5, [(14, ObjectClass.VAN_TRUCK, 60.0, 3.5, math.pi, 0.0, 0.0)])
    assert any("view blocked by 14" in limit.reason for limit in decision.speed_limits.limits)


def test_a_moments_tracked_motion_of_a_standing_bus_does_not_clear_the_view_for_long():
    bp, path = planner(), straight_path()
    for k in range(60):  # standing, a 0.5 s velocity blip at 3 s (its box grew), standing again
        vx = 1.8 if 30 <= k < 35 else 0.0
        decision = bp.step(
            0.1 * k,
            mpc.VanState(0.1 * k, 0.0, 0.0, 0.0, 10.0),
            path,
            0.0,
            table((15, ObjectClass.VAN_TRUCK, 60.0, 3.5, math.pi, vx, 0.0)),
            MissionProgress(()),
        )
        if k == 37:
            assert any(
                "view blocked by 15" in limit.reason for limit in decision.speed_limits.limits
            )


def test_a_car_stopped_in_the_oncoming_lane_blocks_the_view_too():
    decision = standing_for(
        BLOCKAGE_STILL_S + 0.5, [(12, ObjectClass.CAR, 60.0, 3.5, math.pi, 0.0, 0.0)]
    )
    assert any("view blocked by 12" in limit.reason for limit in decision.speed_limits.limits)


def test_cars_parked_in_the_kerbside_strip_do_not_block_the_view():
    decision = standing_for(
        BLOCKAGE_STILL_S + 0.5, [(13, ObjectClass.CAR, 60.0, -4.75, 0.0, 0.0, 0.0)]
    )
    assert not any("view blocked" in limit.reason for limit in decision.speed_limits.limits)


def test_a_lead_caps_the_speed_the_mpc_may_drive_not_only_the_one_it_tracks():
    path = straight_path()
    decision = planner().step(
        0.0,
        mpc.VanState(0.0, 0.0, 0.0, 0.0, 8.0),
        path,
        0.0,
        lead_on_straight(0.0, start_s=30.0),
        MissionProgress(()),
    )
    reference = bh.mpc_reference_path(path, decision)
    ahead = path.s_m >= 0.0
    assert decision.speed_limit[1] == "following 5"
    assert np.all(reference.max_speed_mps[ahead] <= decision.speed_cap_mps + 1e-9)
