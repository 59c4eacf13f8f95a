"""Delay-aware model-predictive control core of the planner: CasADi + HPIPM, no ROS.

A kinematic bicycle with actuator lags and dead times, the command rates as inputs, hard command
limits and soft corridor, stop, obstacle and comfort constraints (each kind with a slack of its
own), solved by real-time iteration of a Gauss-Newton SQP on HPIPM (≈2 ms median, bench/mpc.py).
The model, dead times, cost, constraints and why this solver: docs/ARCHITECTURE.md#the-mpc.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from pathlib import Path

import casadi as ca
import numpy as np

from robovan_autonomy.vehicle_params import (
    STANDSTILL_HOLD_ACCEL_MPS2,
    STANDSTILL_SPEED_MPS,
    VehicleParams,
)

# --- limits and tuning, each with its unit and reason ------------------------------------------
# Horizon: 40 stages of 0.1 s = 4 s, enough to stop from 11 m/s at the comfort decel plus lag.
HORIZON_STEPS = 40
STEP_S = 0.1
# Comfort longitudinal limits, m/s² and m/s³: what a standing courier and loose parcels tolerate;
# the behaviour layer may pass wider MotionLimits (never beyond the van's −6 … +2.5 m/s²). The
# jerk is 2.0 less a margin: each plan starts from the command being sent, and where it meets the
# brake-hold release or the previous ramp the van sees the two slopes blended.
COMFORT_MIN_ACCEL_MPS2 = -3.0
COMFORT_MAX_ACCEL_MPS2 = 1.5
COMFORT_JERK_MPS3 = 1.8
# Lateral acceleration the plan may use, m/s²: urban comfort is 1.5 (half the bridge's 3 m/s²
# cap); the plan keeps 0.1 of it for the steering lag the van adds when it speeds up out of a turn.
COMFORT_LATERAL_ACCEL_MPS2 = 1.4
# Obstacle slots per stage: the QP's size is fixed at build time; the nearest K objects are used.
MAX_OBSTACLES = 8
# Discs that cover the van's body for collision checks: three keep the radius at ~1.2 m.
BODY_DISCS = 3
# Free space kept between the van's discs and an obstacle ellipse, m.
OBSTACLE_CLEARANCE_M = 0.3
# Free space kept between the van's sides and the corridor's edges (a kerb, a lane line), m: the
# corridor is checked at the rear axle and the front bumper, and the body's corners, at a few
# hundredths of a radian to the path, reach that much further out.
CORRIDOR_CLEARANCE_M = 0.15
# Where unused obstacle slots are parked, m from the van's start: far beyond any 4 s plan.
PARKED_OBSTACLE_DISTANCE_M = 1.0e3
# Speed profile the reference is capped to before a stop point, m/s²: the van plans to arrive
# with a gentle brake, well inside the comfort decel, so the hard constraint rarely binds.
STOP_PROFILE_DECEL_MPS2 = 1.5
# In the last metres that braking fades out at this jerk, m/s³: the van comes to rest with the
# brake almost released, because a van stopping under 1.5 m/s² jolts (the decel drops to zero
# at once, a jerk spike) and overshoots what the lagging brake was planned to do.
STOP_TAPER_JERK_MPS3 = 0.6
# The reference speed reaches zero this far before the stop point, m: the van comes to rest
# short of the line instead of creeping up to where the hard limit binds.
STOP_SHORT_M = 0.3
# Within this distance of where the stop profile rests, errors in speed, in braking against the
# profile, in lateral position and in heading weigh up to 1 + STOP_TRACKING_GAIN times more, m:
# a few decimetres (per second) of error there cost no more than the jerk or steering of
# correcting them, so the van would rest on the hard limit instead of the profile's end, or
# beside or askew in its bay (a delivery stop must land within 0.3 m, the kerb a few decimetres
# off), and the model's fading brake would let it stop with the brake still on (a jolt).
STOP_TRACKING_DISTANCE_M = 3.0
STOP_TRACKING_GAIN = 20.0
# Below this speed steering rate costs more (up to 1 + LOW_SPEED_STEER_RATE_GAIN times), m/s:
# steering a nearly stopped van buys little path correction and looks like chatter; above it
# the van must still steer to settle in a bay in its last metres.
LOW_SPEED_MPS = 0.5
LOW_SPEED_STEER_RATE_GAIN = 50.0
# A plan that stays below the standstill speed this long holds the brake, s: pulling away from
# the brake hold at the comfort jerk passes that speed within ~1.2 s, so a departing plan never
# holds. The hold is ramped in at the comfort jerk, so the last millimetres of a stop do not end
# in a jolt.
HOLD_LOOKAHEAD_S = 2.0
# A standing van whose drive, by the commands on record, should show this much more accel than
# measured did not get them (autonomy not engaged yet, or overridden), m/s²: a van at rest
# reports no accel while its brake is on, and exactly its drive once that is positive.
UNAPPLIED_DRIVE_MPS2 = 0.15
# Such a van's plan starts from at most this drive, m/s², so that engaging never meets a plan
# already at full drive (a jolt the bridge's jerk limiter only softens).
STANDSTILL_MAX_DRIVE_MPS2 = 0.2
# Step of the dead-time forward prediction, s: RK4 at a sixth of the 0.12 s steering lag.
PREDICTION_SUBSTEP_S = 0.02
# How much of the sent-command history is kept, s: several dead times.
COMMAND_HISTORY_S = 1.0
# A previous solution older than this is not used to warm-start or as a fallback, s.
MAX_WARM_START_AGE_S = 1.0
# Slack penalties per stage: exact L1 (cost per m or per m/s / m/s²) and a small L2 that keeps
# the Hessian positive on the slack directions.
SAFETY_SLACK_L1 = 1.0e4
SAFETY_SLACK_L2 = 1.0e2
COMFORT_SLACK_L1 = 1.0e3
COMFORT_SLACK_L2 = 1.0e1
# Braking fades out of the model over the last BRAKE_FADE_TIME_S before standstill: below the
# speed v_fade = √((BRAKE_FADE_TIME_S · a)² + BRAKE_FADE_FLOOR_MPS²), as v/√(v² + v_fade²). The
# van's brakes act in full down to standstill, so the fade is kept as short as RK4 allows: its
# stiffness is at most 1 / BRAKE_FADE_TIME_S (20 1/s), inside RK4's stability at 0.1 s steps,
# whatever the braking; a fixed fade speed (0.3 m/s) made the van stop harder and sooner than
# planned under the gentle braking of a stop. The floor keeps the fade smooth at a = 0.
BRAKE_FADE_TIME_S = 0.05
BRAKE_FADE_FLOOR_MPS = 0.01
# How far (m/s) one unit of comfort slack lets the plan's speed dip below zero. Small, so that
# reversing costs far more than any safety slack (the van never backs away from a violated
# corridor or stop line), yet soft: a linearised step at a stop may dip a hair below zero.
REVERSE_SLACK_SCALE = 1.0e-2
# Tikhonov term on the Gauss-Newton Hessian: states without a cost (x along the path, actual
# steer) must not leave it singular.
HESSIAN_REGULARISATION = 1.0e-6
# SQP stop: largest change of any physical state in a step (m, rad, m/s, m/s²; not the
# slacks, and not the command rates, which the interior-point exit leaves ~0.05 loose), and the
# step budget.
STEP_TOLERANCE = 1.0e-2
# Warm-started, one QP usually meets STEP_TOLERANCE (a real-time iteration). Where the active set
# changes (an obstacle enters the horizon, a disc pairing flips) one Gauss-Newton step from the
# warm start can be a swerve the next solve undoes, and the AEB judges the command that was sent:
# a 0.5 m swerve toward a parked car stopped the van (jaywalker run, whole stack). So up to three.
MAX_SQP_ITERATIONS = 3
COLD_START_SQP_ITERATIONS = 2  # no usable previous plan: one more step for the first plan
# HPIPM's own settings, measured on QPs captured from closed-loop runs (cruise, stop, turn,
# obstacle): "speed_abs" (exit on the barrier parameter alone) with an initial barrier of the
# order of the slack penalties and a 1e-5 exit takes 3–9 interior-point iterations, ≈0.9 ms;
# "speed" with CasADi's defaults took 7–22 (≈2.7 ms). The looser exit moves a QP step by
# < 0.1 in any command rate (jerk in m/s³ at worst), far inside what the next solve corrects.
HPIPM_OPTIONS = {"mode": "speed_abs", "mu0": 1.0e3, "res_m_max": 1.0e-5, "iter_max": 50}
# What HPIPM is given for an infinite bound, in the QP's step units (m, rad, m/s, …): far beyond
# any step, yet small enough for its residual-based exit test; with CasADi's default 1e8 the
# non-"abs" modes never met their tolerance on a cold start.
HPIPM_INFINITY = 1.0e4

# Status of a usable plan: the SQP met step_tolerance, or it ran out of its step budget (the
# normal case with real-time iteration: the plan is one Gauss-Newton step from the warm start).
STATUS_CONVERGED = "converged"
STATUS_ITERATE = "iterate"

# --- layout of the OCP vectors -------------------------------------------------------------------
NX, NU = 12, 5
(
    IX,
    IY,
    IYAW,
    IV,
    ISTEER,
    IACCEL,
    ISTEER_CMD,
    IACCEL_CMD,
    IPROGRESS,
    ISLACK_SAFETY,
    ISLACK_COMFORT,
    ISLACK_CORRIDOR,
) = range(NX)
IU_STEER_RATE, IU_JERK, IU_SLACK_SAFETY, IU_SLACK_COMFORT, IU_SLACK_CORRIDOR = range(NU)
N_PHYSICAL = 8  # x, y, yaw, v, δ, a, δ_cmd, a_cmd: what the dead-time prediction produces
_STAGE_PARAMETERS = (
    "x_ref",
    "y_ref",
    "yaw_ref",
    "speed_ref",
    "steer_ref",
    "x_front_ref",
    "y_front_ref",
    "yaw_front_ref",
    "lateral_min",
    "lateral_max",
    "lateral_front_min",
    "lateral_front_max",
    "s_max",
    "accel_ref",
    "speed_max",
    "w_lateral",
    "w_heading",
    "w_speed",
    "w_steer",
    "w_accel",
    "w_jerk",
    "w_steer_rate",
    "max_lateral_accel",
)
STAGE_PARAM = {name: i for i, name in enumerate(_STAGE_PARAMETERS)}
# Per obstacle slot and stage: centre x, y, cos yaw, sin yaw, 1/semi-axis a, 1/semi-axis b,
# the smaller semi-axis (turns the ellipse metric into metres), and which body disc is checked
# (its offset ahead of the rear axle, m).
OBSTACLE_FIELDS = 8
OBSTACLE_DISC = 7
N_CORE_CONSTRAINTS = 9


@dataclasses.dataclass(frozen=True)
class MpcWeights:
    """Stage-cost weights (per unit² of the error) and the terminal multiplier."""

    lateral: float = 1.0
    heading: float = 2.0
    speed: float = 0.5
    steer: float = 0.5
    accel: float = 0.2
    jerk: float = 0.5
    steer_rate: float = 2.0
    terminal_factor: float = 5.0


@dataclasses.dataclass(frozen=True)
class MotionLimits:
    """Comfort limits of one solve; clamped to the van's hardware limits."""

    min_accel_mps2: float = COMFORT_MIN_ACCEL_MPS2
    max_accel_mps2: float = COMFORT_MAX_ACCEL_MPS2
    max_jerk_mps3: float = COMFORT_JERK_MPS3
    max_lateral_accel_mps2: float = COMFORT_LATERAL_ACCEL_MPS2


@dataclasses.dataclass(frozen=True)
class MpcConfig:
    """Everything the OCP is built from; make it with from_vehicle()."""

    wheelbase_m: float
    max_steer_rad: float
    max_steer_rate_radps: float
    hard_min_accel_mps2: float
    hard_max_accel_mps2: float
    steer_tau_s: float
    steer_dead_time_s: float
    accel_tau_s: float
    accel_dead_time_s: float
    half_width_m: float
    front_bumper_m: float
    body_disc_offsets_m: tuple
    body_disc_radius_m: float
    max_speed_mps: float
    horizon_steps: int = HORIZON_STEPS
    step_s: float = STEP_S
    weights: MpcWeights = MpcWeights()
    limits: MotionLimits = MotionLimits()
    max_obstacles: int = MAX_OBSTACLES
    obstacle_clearance_m: float = OBSTACLE_CLEARANCE_M
    max_iterations: int = MAX_SQP_ITERATIONS
    cold_start_iterations: int = COLD_START_SQP_ITERATIONS
    step_tolerance: float = STEP_TOLERANCE

    @classmethod
    def from_vehicle(cls, vehicle: VehicleParams, **overrides) -> MpcConfig:
        """Vehicle numbers from the datasheet; tuning from the constants above or `overrides`."""
        footprint = vehicle.footprint()
        rear, front = float(footprint[:, 0].min()), float(footprint[:, 0].max())
        half = float(footprint[:, 1].max())
        piece = (front - rear) / BODY_DISCS
        offsets = tuple(rear + piece * (i + 0.5) for i in range(BODY_DISCS))
        return cls(
            wheelbase_m=vehicle.wheelbase_m,
            max_steer_rad=vehicle.max_steer_rad,
            max_steer_rate_radps=vehicle.max_steer_rate_radps,
            hard_min_accel_mps2=vehicle.min_accel_mps2,
            hard_max_accel_mps2=vehicle.max_accel_mps2,
            steer_tau_s=vehicle.steer_tau_s,
            steer_dead_time_s=vehicle.steer_dead_time_s,
            accel_tau_s=vehicle.accel_tau_s,
            accel_dead_time_s=vehicle.accel_dead_time_s,
            half_width_m=half,
            front_bumper_m=front,
            body_disc_offsets_m=offsets,
            body_disc_radius_m=math.hypot(piece / 2.0, half),
            max_speed_mps=vehicle.max_speed_odd_mps,
            **overrides,
        )

    @property
    def prediction_time_s(self) -> float:
        """How far past the measurement the OCP starts: the longer of the two dead times."""
        return max(self.steer_dead_time_s, self.accel_dead_time_s)

    @property
    def n_constraints(self) -> int:
        return N_CORE_CONSTRAINTS + self.max_obstacles

    @property
    def n_parameters(self) -> int:
        return len(_STAGE_PARAMETERS) + OBSTACLE_FIELDS * self.max_obstacles

    def stage_times_s(self) -> np.ndarray:
        """Times of the N+1 stages after the measurement stamp, s."""
        return self.prediction_time_s + self.step_s * np.arange(self.horizon_steps + 1)


# --- inputs and outputs ------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class VanState:
    """Measured state at stamp_s, in `map`; steer and accel as the van reports them."""

    stamp_s: float
    x_m: float
    y_m: float
    yaw_rad: float
    speed_mps: float
    steer_rad: float = 0.0
    accel_mps2: float = 0.0

    def as_array(self) -> np.ndarray:
        return np.array(
            [self.x_m, self.y_m, self.yaw_rad, self.speed_mps, self.steer_rad, self.accel_mps2]
        )


@dataclasses.dataclass(frozen=True)
class StageReference:
    """The reference sampled at each stage's predicted arc length (arrays of N+1), and again one
    front-bumper distance further on (front_*), where the front bumper's corridor is checked."""

    s_m: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    yaw_rad: np.ndarray
    kappa_1pm: np.ndarray
    speed_mps: np.ndarray
    max_speed_mps: np.ndarray
    left_width_m: np.ndarray
    right_width_m: np.ndarray
    front_x_m: np.ndarray
    front_y_m: np.ndarray
    front_yaw_rad: np.ndarray
    front_left_width_m: np.ndarray
    front_right_width_m: np.ndarray


@dataclasses.dataclass(frozen=True)
class TrackingPath:
    """The path the MPC tracks (behaviour.mpc_reference_path makes it from the route's
    ReferencePath and a decision): samples along arc length s (yaw unwrapped, continuous), with
    the speed to track, the speed never to exceed (the legal and the ramps' limits, which a plan
    may not trade for progress further on) and the free width left and right of the path at each
    sample."""

    s_m: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    yaw_rad: np.ndarray
    kappa_1pm: np.ndarray
    speed_mps: np.ndarray
    max_speed_mps: np.ndarray
    left_width_m: np.ndarray
    right_width_m: np.ndarray

    @classmethod
    def from_points(
        cls, x_m, y_m, speed_mps, left_width_m, right_width_m, max_speed_mps=None
    ) -> TrackingPath:
        """Arc length, heading and curvature from a dense polyline (scalars broadcast; the speed
        never to exceed defaults to the speed to track)."""
        x, y = np.asarray(x_m, float), np.asarray(y_m, float)
        keep = np.concatenate([[True], np.hypot(np.diff(x), np.diff(y)) > 1e-9])  # no repeats
        x, y = x[keep], y[keep]
        s = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
        yaw = np.unwrap(np.arctan2(np.gradient(y, s), np.gradient(x, s)))
        kappa = np.gradient(yaw, s)

        def per_point(value):
            return np.broadcast_to(np.asarray(value, float), keep.shape)[keep].copy()

        return cls(
            s,
            x,
            y,
            yaw,
            kappa,
            per_point(speed_mps),
            per_point(speed_mps if max_speed_mps is None else max_speed_mps),
            per_point(left_width_m),
            per_point(right_width_m),
        )

    def project(self, x_m: float, y_m: float) -> float:
        """Arc length of the path point nearest to (x, y)."""
        px, py = self.x_m[:-1], self.y_m[:-1]
        dx, dy = np.diff(self.x_m), np.diff(self.y_m)
        length2 = np.maximum(dx * dx + dy * dy, 1e-12)
        t = np.clip(((x_m - px) * dx + (y_m - py) * dy) / length2, 0.0, 1.0)
        dist2 = (px + t * dx - x_m) ** 2 + (py + t * dy - y_m) ** 2
        i = int(np.argmin(dist2))
        return float(self.s_m[i] + t[i] * (self.s_m[i + 1] - self.s_m[i]))

    def sample(self, s_m: np.ndarray, front_m: float) -> StageReference:
        """The path at arc lengths s (held at the ends), and its pose and widths front_m further
        on (continued straight past the end: the front bumper of a van stopping at the end of
        the path stands beyond it). Sampled there, not extrapolated from s, so the front
        bumper's corridor is right on a bay's ramp as on a curve."""
        s = np.asarray(s_m, float)
        fields = {
            f.name: np.interp(s, self.s_m, getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name != "s_m"
        }
        front = s + front_m
        beyond = np.maximum(front - self.s_m[-1], 0.0)
        end_yaw = self.yaw_rad[-1]
        return StageReference(
            s_m=s,
            **fields,
            front_x_m=np.interp(front, self.s_m, self.x_m) + beyond * math.cos(end_yaw),
            front_y_m=np.interp(front, self.s_m, self.y_m) + beyond * math.sin(end_yaw),
            front_yaw_rad=np.interp(front, self.s_m, self.yaw_rad),
            front_left_width_m=np.interp(front, self.s_m, self.left_width_m),
            front_right_width_m=np.interp(front, self.s_m, self.right_width_m),
        )


@dataclasses.dataclass(frozen=True)
class ObstacleSet:
    """Objects as ellipses: centre and heading per stage (M, N+1), semi-axes per object (M,)."""

    x_m: np.ndarray
    y_m: np.ndarray
    yaw_rad: np.ndarray
    semi_length_m: np.ndarray
    semi_width_m: np.ndarray

    @classmethod
    def none(cls, n_stages: int) -> ObstacleSet:
        empty = np.zeros((0, n_stages))
        return cls(empty, empty, empty, np.zeros(0), np.zeros(0))

    @classmethod
    def constant_velocity(
        cls, t_s: np.ndarray, x_m, y_m, yaw_rad, vx_mps, vy_mps, semi_length_m, semi_width_m
    ) -> ObstacleSet:
        """Predictions at the stage times t_s by constant velocity (one value per object)."""
        t = np.asarray(t_s, float)[None, :]
        col = [
            np.atleast_1d(np.asarray(v, float))[:, None]
            for v in (x_m, y_m, yaw_rad, vx_mps, vy_mps)
        ]
        yaw = np.broadcast_to(col[2], (col[2].shape[0], t.shape[1])).copy()
        return cls(
            col[0] + col[3] * t,
            col[1] + col[4] * t,
            yaw,
            np.atleast_1d(np.asarray(semi_length_m, float)),
            np.atleast_1d(np.asarray(semi_width_m, float)),
        )

    def __len__(self) -> int:
        return self.semi_length_m.shape[0]


@dataclasses.dataclass(frozen=True)
class MpcProblem:
    """One OCP instance: all the solver sees. Recorded to .npz for the bench to replay."""

    stamp_s: float  # measurement stamp; stage k is at stamp + T_p + k·dt
    initial_state: np.ndarray  # (8,) x, y, yaw, v, δ, a, δ_cmd, a_cmd after the dead time
    reference: StageReference
    obstacles: ObstacleSet  # at most max_obstacles, already chosen
    s_stop_m: np.ndarray  # (N+1,) the front bumper's limit per stage; NaN: no stop point
    limits: MotionLimits


@dataclasses.dataclass(frozen=True)
class MpcCommand:
    """What to send at one instant (send time, before the dead times)."""

    steer_rad: float
    steer_rate_radps: float
    accel_mps2: float
    jerk_mps3: float


@dataclasses.dataclass(frozen=True)
class CommandSchedule:
    """The send-time command plan from the stamp on: ControlPlan's fields, stamp aside."""

    time_from_start_s: np.ndarray
    steer_rad: np.ndarray
    steer_rate_radps: np.ndarray
    speed_mps: np.ndarray
    accel_mps2: np.ndarray


@dataclasses.dataclass(frozen=True)
class MpcSolution:
    """A plan. Per-stage arrays (N+1) at t_s after stamp_s: the predicted pose and speed, the
    actuators' steer / accel and the commands reaching them (*_cmd_*), the command rates over
    [t_k, t_k+1) (last entry 0) and the safety slack used (> 0: a corridor, stop or obstacle
    constraint could not be met). The *_send_* breakpoints are the same commands in send time
    (the dead times earlier), which is what command_at() and command_schedule() read.
    ok=False marks a fallback (the previous plan shifted, or a comfort stop);
    consecutive_failures counts them, for the node to call a minimal-risk stop."""

    ok: bool
    fallback: bool
    status: str
    solve_time_ms: float
    iterations: int
    consecutive_failures: int
    stamp_s: float
    t_s: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    yaw_rad: np.ndarray
    speed_mps: np.ndarray
    steer_rad: np.ndarray
    accel_mps2: np.ndarray
    steer_cmd_rad: np.ndarray
    accel_cmd_mps2: np.ndarray
    steer_rate_radps: np.ndarray
    jerk_mps3: np.ndarray
    safety_slack_m: np.ndarray
    steer_send_t_s: np.ndarray  # send-time breakpoints of the steering command, after stamp
    steer_send_rad: np.ndarray
    accel_send_t_s: np.ndarray  # send-time breakpoints of the accel command, after stamp
    accel_send_mps2: np.ndarray

    def command_at(self, t_from_stamp_s: float) -> MpcCommand:
        """The command to send t seconds after the stamp (linear between breakpoints)."""
        steer, steer_rate = _piecewise_linear(
            self.steer_send_t_s, self.steer_send_rad, t_from_stamp_s
        )
        accel, jerk = _piecewise_linear(self.accel_send_t_s, self.accel_send_mps2, t_from_stamp_s)
        return MpcCommand(steer, steer_rate, accel, jerk)

    @property
    def command(self) -> MpcCommand:
        """The command to send now (at the measurement stamp)."""
        return self.command_at(0.0)

    def command_schedule(self) -> CommandSchedule:
        """Both channels on one time grid, for the /control/command plan."""
        t = np.union1d(self.steer_send_t_s, self.accel_send_t_s)
        t = t[t >= 0.0]
        steer = np.interp(t, self.steer_send_t_s, self.steer_send_rad)
        accel = np.interp(t, self.accel_send_t_s, self.accel_send_mps2)
        # The slope of the segment each time starts (as _piecewise_linear; 0 outside).
        knots, values = self.steer_send_t_s, self.steer_send_rad
        slopes = np.append(np.diff(values) / np.diff(knots), 0.0)
        segment = np.searchsorted(knots, t, side="right") - 1
        inside = (segment >= 0) & (segment < len(knots) - 1)
        rate = np.where(inside, slopes[np.clip(segment, 0, None)], 0.0)
        speed = np.interp(t, self.t_s, self.speed_mps)
        return CommandSchedule(t, steer, rate, speed, accel)


def _piecewise_linear(t: np.ndarray, v: np.ndarray, at: float) -> tuple[float, float]:
    """Value and slope of the linear interpolant at `at` (held flat outside)."""
    i = int(np.searchsorted(t, at, side="right")) - 1
    if i < 0 or i >= len(t) - 1:
        return float(v[0] if i < 0 else v[-1]), 0.0
    slope = (v[i + 1] - v[i]) / (t[i + 1] - t[i])
    return float(v[i] + slope * (at - t[i])), float(slope)


# --- problem instances on disk ------------------------------------------------------------------
def save_problems(path: str | Path, problems: list[MpcProblem]) -> None:
    """Write a sequence of instances (same horizon) to one .npz for bench replay."""
    arrays = {
        "stamp_s": np.array([p.stamp_s for p in problems]),
        "initial_state": np.stack([p.initial_state for p in problems]),
        "s_stop_m": np.stack([p.s_stop_m for p in problems]),
        "limits": np.array([dataclasses.astuple(p.limits) for p in problems]),
    }
    for f in dataclasses.fields(StageReference):
        arrays[f"reference.{f.name}"] = np.stack([getattr(p.reference, f.name) for p in problems])
    width = max([len(p.obstacles) for p in problems] + [0])
    n_stages = problems[0].reference.s_m.shape[0]
    for f in dataclasses.fields(ObstacleSet):
        per_stage = f.name not in ("semi_length_m", "semi_width_m")
        shape = (len(problems), width, n_stages) if per_stage else (len(problems), width)
        stacked = np.full(shape, np.nan)
        for i, p in enumerate(problems):
            stacked[i, : len(p.obstacles)] = getattr(p.obstacles, f.name)
        arrays[f"obstacles.{f.name}"] = stacked
    np.savez_compressed(path, **arrays)


def load_problems(path: str | Path) -> list[MpcProblem]:
    with np.load(path) as data:
        out = []
        for i in range(data["stamp_s"].shape[0]):
            present = ~np.isnan(data["obstacles.semi_length_m"][i])
            obstacles = ObstacleSet(
                **{
                    f.name: data[f"obstacles.{f.name}"][i][present]
                    for f in dataclasses.fields(ObstacleSet)
                }
            )
            reference = StageReference(
                **{
                    f.name: data[f"reference.{f.name}"][i]
                    for f in dataclasses.fields(StageReference)
                }
            )
            # Recordings from before per-stage limits hold one stop point per instance.
            stop = np.broadcast_to(data["s_stop_m"][i], reference.s_m.shape).astype(float)
            out.append(
                MpcProblem(
                    float(data["stamp_s"][i]),
                    data["initial_state"][i],
                    reference,
                    obstacles,
                    stop,
                    MotionLimits(*data["limits"][i]),
                )
            )
    return out


# --- the optimal control problem, symbolically ---------------------------------------------------
@dataclasses.dataclass(frozen=True)
class OcpFunctions:
    """The OCP's pieces as CasADi Functions, shared by the SQP and the IPOPT baseline."""

    step: ca.Function  # (x, u) -> x_next
    constraints: ca.Function  # (x, p) -> c, feasible where c ≥ 0 (stages 1…N)
    residuals: ca.Function  # (x, u, p) -> r, stage cost ½‖r‖²
    terminal: ca.Function  # (x, p) -> r, terminal cost ½‖r‖²
    slack_cost: ca.Function  # (x) -> linear slack penalty


def build_ocp_functions(config: MpcConfig) -> OcpFunctions:
    x = ca.SX.sym("x", NX)
    u = ca.SX.sym("u", NU)
    p = ca.SX.sym("p", config.n_parameters)

    def param(name):
        return p[STAGE_PARAM[name]]

    def rates(s, w):
        yaw, v, steer, accel = s[IYAW], s[IV], s[ISTEER], s[IACCEL]
        # Brakes stop the van, they do not reverse it: the braking part of the accel fades out
        # as v → 0 (drive does not), so v ≥ 0 holds in the model and a stopped van with the
        # brake on stays stopped. At accel = 0 the split's derivative is ½ each, so a van at
        # rest still "sees" that drive moves it and can pull away from a cold start.
        brake = ca.fmin(accel, 0.0)
        braking = (
            brake * v / ca.sqrt(v * v + (BRAKE_FADE_TIME_S * brake) ** 2 + BRAKE_FADE_FLOOR_MPS**2)
        )
        return ca.vertcat(
            v * ca.cos(yaw),
            v * ca.sin(yaw),
            v * ca.tan(steer) / config.wheelbase_m,
            ca.fmax(accel, 0.0) + braking,
            (s[ISTEER_CMD] - steer) / config.steer_tau_s,
            (s[IACCEL_CMD] - accel) / config.accel_tau_s,
            w[IU_STEER_RATE],
            w[IU_JERK],
        )

    h = config.step_s
    s0 = x[:N_PHYSICAL]
    k1 = rates(s0, u)
    k2 = rates(s0 + h / 2 * k1, u)
    k3 = rates(s0 + h / 2 * k2, u)
    k4 = rates(s0 + h * k3, u)
    # Progress integrates the speed with the same RK4 stages: the distance travelled.
    speeds = (s0[IV], s0[IV] + h / 2 * k1[IV], s0[IV] + h / 2 * k2[IV], s0[IV] + h * k3[IV])
    x_next = ca.vertcat(
        s0 + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4),
        x[IPROGRESS] + h / 6 * (speeds[0] + 2 * speeds[1] + 2 * speeds[2] + speeds[3]),
        u[IU_SLACK_SAFETY],
        u[IU_SLACK_COMFORT],
        u[IU_SLACK_CORRIDOR],
    )

    px, py, yaw, v, steer = x[IX], x[IY], x[IYAW], x[IV], x[ISTEER]
    safety, comfort, corridor = x[ISLACK_SAFETY], x[ISLACK_COMFORT], x[ISLACK_CORRIDOR]
    cos_yaw, sin_yaw = ca.cos(yaw), ca.sin(yaw)

    def offsets(qx, qy, prefix):
        """(lateral, along-track) offset of a point from the stage's reference point."""
        ref_yaw = param(f"yaw_{prefix}ref")
        dx, dy = qx - param(f"x_{prefix}ref"), qy - param(f"y_{prefix}ref")
        cos_ref, sin_ref = ca.cos(ref_yaw), ca.sin(ref_yaw)
        return -sin_ref * dx + cos_ref * dy, cos_ref * dx + sin_ref * dy

    lateral, _ = offsets(px, py, "")
    lateral_front, _ = offsets(
        px + config.front_bumper_m * cos_yaw, py + config.front_bumper_m * sin_yaw, "front_"
    )
    lateral_accel = v * v * ca.tan(steer) / config.wheelbase_m
    lo, hi, lat_max = param("lateral_min"), param("lateral_max"), param("max_lateral_accel")
    front_lo, front_hi = param("lateral_front_min"), param("lateral_front_max")
    rows = [
        lateral - lo + corridor,
        hi - lateral + corridor,
        lateral_front - front_lo + corridor,
        front_hi - lateral_front + corridor,
        param("s_max") - x[IPROGRESS] + safety,
        v + REVERSE_SLACK_SCALE * comfort,
        param("speed_max") - v + comfort,
        lat_max - lateral_accel + comfort,
        lat_max + lateral_accel + comfort,
    ]
    base = len(_STAGE_PARAMETERS)
    for j in range(config.max_obstacles):
        cx, cy, oc, os_, inv_a, inv_b, scale, disc = (
            p[base + OBSTACLE_FIELDS * j + i] for i in range(OBSTACLE_FIELDS)
        )
        dx, dy = px + disc * cos_yaw - cx, py + disc * sin_yaw - cy
        la, lb = (oc * dx + os_ * dy) * inv_a, (-os_ * dx + oc * dy) * inv_b
        # Scaled so that, for a disc, this is the gap in metres; the epsilon keeps the square
        # root differentiable when a disc centre sits on the obstacle centre.
        rows.append(scale * (ca.sqrt(la * la + lb * lb + 1e-6) - 1.0) + safety)

    def weighted(name, value):
        return ca.sqrt(param(name)) * value

    state_terms = [
        weighted("w_lateral", lateral),
        weighted("w_heading", yaw - param("yaw_ref")),
        weighted("w_speed", v - param("speed_ref")),
        weighted("w_steer", steer - param("steer_ref")),
        weighted("w_accel", x[IACCEL] - param("accel_ref")),
        math.sqrt(SAFETY_SLACK_L2) * safety,
        math.sqrt(COMFORT_SLACK_L2) * comfort,
        math.sqrt(SAFETY_SLACK_L2) * corridor,
    ]
    input_terms = [weighted("w_steer_rate", u[IU_STEER_RATE]), weighted("w_jerk", u[IU_JERK])]
    slack_cost = SAFETY_SLACK_L1 * (safety + corridor) + COMFORT_SLACK_L1 * comfort
    return OcpFunctions(
        step=ca.Function("step", [x, u], [x_next]),
        constraints=ca.Function("constraints", [x, p], [ca.vertcat(*rows)]),
        residuals=ca.Function("residuals", [x, u, p], [ca.vertcat(*state_terms, *input_terms)]),
        terminal=ca.Function("terminal", [x, p], [ca.vertcat(*state_terms)]),
        slack_cost=ca.Function("slack_cost", [x], [slack_cost]),
    )


def _stage_slices(config: MpcConfig) -> tuple[list[slice], list[slice]]:
    """Where x_k and u_k sit in z = [x_0, u_0, x_1, u_1, …, x_N]."""
    width = NX + NU
    states = [slice(k * width, k * width + NX) for k in range(config.horizon_steps + 1)]
    inputs = [slice(k * width + NX, (k + 1) * width) for k in range(config.horizon_steps)]
    return states, inputs


@functools.lru_cache(maxsize=4)
def _build_solver(config: MpcConfig):
    """The QP-building Function, the HPIPM solver and the model rollout, built once per
    configuration (and shared by planners with the same one)."""
    fun = build_ocp_functions(config)
    n = config.horizon_steps
    nz = n * (NX + NU) + NX
    z = ca.SX.sym("z", nz)
    params = ca.SX.sym("params", config.n_parameters, n + 1)
    xs, us = _stage_slices(config)
    # Rows in HPIPM's order: stage by stage, the dynamics gap then the stage's own constraints
    # ([gap_0, gap_1, con_1, …, gap_N-1, con_N-1, con_N]; x_0 is fixed, so stage 0 has none).
    rows, is_gap, residuals, linear = [], [], [], []
    for k in range(n + 1):
        xk = z[xs[k]]
        if k < n:
            uk = z[us[k]]
            rows.append(fun.step(xk, uk) - z[xs[k + 1]])
            is_gap.append(np.ones(NX, bool))
            residuals.append(fun.residuals(xk, uk, params[:, k]))
        else:
            residuals.append(fun.terminal(xk, params[:, k]))
        if k > 0:
            rows.append(fun.constraints(xk, params[:, k]))
            is_gap.append(np.zeros(config.n_constraints, bool))
        linear.append(fun.slack_cost(xk))
    g = ca.vertcat(*rows)
    is_gap = np.concatenate(is_gap)
    r = ca.vertcat(*residuals)
    jr = ca.jacobian(r, z)
    hessian = ca.mtimes(jr.T, jr) + HESSIAN_REGULARISATION * ca.SX.eye(nz)
    gradient = ca.mtimes(jr.T, r) + ca.gradient(ca.sum1(ca.vertcat(*linear)), z)
    jg = ca.jacobian(g, z)
    upper = ca.DM(np.where(is_gap, 0.0, np.inf))
    qp_data = ca.Function(
        "mpc_qp",
        [z, params],
        [hessian, gradient, jg, -g, -g + upper],
        ["z", "p"],
        ["h", "g", "a", "lba", "uba"],
        {"cse": True},
    )
    qp = ca.conic(
        "mpc_hpipm",
        "hpipm",
        {"h": hessian.sparsity(), "a": jg.sparsity()},
        {
            "N": n,
            "nx": [NX] * (n + 1),
            "nu": [NU] * n + [0],
            "ng": [0] + [config.n_constraints] * n,
            "hpipm": HPIPM_OPTIONS,
            "inf": HPIPM_INFINITY,
            "error_on_fail": False,
        },
    )
    return qp_data, qp, fun.step.mapaccum("rollout", n), fun.step


# --- numbers for one instance ---------------------------------------------------------------------
def stop_speed_profile(room_m: np.ndarray) -> np.ndarray:
    """Reference speed with room_m left to the rest point: braking at STOP_PROFILE_DECEL_MPS2
    that fades out at STOP_TAPER_JERK_MPS3 (the fade covers a³/6j² metres from a²/2j m/s)."""
    room = np.maximum(np.asarray(room_m, dtype=float), 0.0)
    decel, jerk = STOP_PROFILE_DECEL_MPS2, STOP_TAPER_JERK_MPS3
    fade_m, fade_mps = decel**3 / (6.0 * jerk**2), decel**2 / (2.0 * jerk)
    fading = 0.5 * jerk * (6.0 * room / jerk) ** (2.0 / 3.0)
    braking = np.sqrt(fade_mps**2 + 2.0 * decel * np.maximum(room - fade_m, 0.0))
    return np.where(room < fade_m, fading, braking)


def stage_parameters(config: MpcConfig, problem: MpcProblem) -> np.ndarray:
    """The OCP's parameter matrix (n_parameters, N+1) for one instance."""
    ref, x0, n1 = problem.reference, problem.initial_state, config.horizon_steps + 1
    yaw = np.unwrap(ref.yaw_rad)
    yaw = yaw + 2.0 * math.pi * np.round((x0[IYAW] - yaw[0]) / (2.0 * math.pi))
    front_yaw = np.unwrap(ref.front_yaw_rad)
    front_yaw = front_yaw + 2.0 * math.pi * np.round((yaw[0] - front_yaw[0]) / (2.0 * math.pi))
    kappa = ref.kappa_1pm
    speed = np.minimum(ref.speed_mps, config.max_speed_mps)
    near_stop = np.zeros(n1)
    if np.all(np.isfinite(problem.s_stop_m)):
        s_max = problem.s_stop_m - config.front_bumper_m
        room = s_max - STOP_SHORT_M - ref.s_m
        speed = np.minimum(speed, stop_speed_profile(room))
        near_stop = np.clip(1.0 - room / STOP_TRACKING_DISTANCE_M, 0.0, 1.0)
    else:
        s_max = ref.s_m + PARKED_OBSTACLE_DISTANCE_M
    w = config.weights
    terminal = np.ones(n1)
    terminal[-1] = w.terminal_factor
    t_stage = config.step_s * np.arange(n1)
    reachable = np.minimum(speed, x0[IV] + problem.limits.max_accel_mps2 * t_stage)
    # The braking the reference speed asks for: the accel cost then penalises braking other than
    # the reference's, not braking as such, so a stop follows its profile (and its fade) instead
    # of braking late and resting on the hard limit with the brake on.
    accel_ref = np.maximum(
        np.minimum(np.diff(speed, append=speed[-1]) / config.step_s, 0.0),
        max(problem.limits.min_accel_mps2, config.hard_min_accel_mps2),
    )
    slow = np.clip(1.0 - reachable / LOW_SPEED_MPS, 0.0, 1.0)
    values = {
        "x_ref": ref.x_m,
        "y_ref": ref.y_m,
        "yaw_ref": yaw,
        "speed_ref": speed,
        "steer_ref": np.clip(
            np.arctan(config.wheelbase_m * kappa), -config.max_steer_rad, config.max_steer_rad
        ),
        "x_front_ref": ref.front_x_m,
        "y_front_ref": ref.front_y_m,
        "yaw_front_ref": front_yaw,
        "lateral_min": -ref.right_width_m + config.half_width_m + CORRIDOR_CLEARANCE_M,
        "lateral_max": ref.left_width_m - config.half_width_m - CORRIDOR_CLEARANCE_M,
        "lateral_front_min": -ref.front_right_width_m + config.half_width_m + CORRIDOR_CLEARANCE_M,
        "lateral_front_max": ref.front_left_width_m - config.half_width_m - CORRIDOR_CLEARANCE_M,
        "s_max": s_max,
        "accel_ref": accel_ref,
        "speed_max": np.minimum(ref.max_speed_mps, config.max_speed_mps),
        "w_lateral": w.lateral * terminal * (1.0 + STOP_TRACKING_GAIN * near_stop),
        "w_heading": w.heading * terminal * (1.0 + STOP_TRACKING_GAIN * near_stop),
        "w_speed": w.speed * terminal * (1.0 + STOP_TRACKING_GAIN * near_stop),
        "w_steer": w.steer,
        "w_accel": w.accel * (1.0 + STOP_TRACKING_GAIN * near_stop),
        "w_jerk": w.jerk,
        "w_steer_rate": w.steer_rate * (1.0 + LOW_SPEED_STEER_RATE_GAIN * slow),
        "max_lateral_accel": problem.limits.max_lateral_accel_mps2,
    }
    out = np.zeros((config.n_parameters, n1))
    for name, value in values.items():
        out[STAGE_PARAM[name]] = value
    base = len(_STAGE_PARAMETERS)
    slots = out[base:].reshape(config.max_obstacles, OBSTACLE_FIELDS, n1)
    slots[:, 0] = x0[IX] + PARKED_OBSTACLE_DISTANCE_M
    slots[:, 1] = x0[IY] + PARKED_OBSTACLE_DISTANCE_M
    slots[:, 2], slots[:, 4], slots[:, 5], slots[:, 6] = 1.0, 1.0, 1.0, 1.0
    obs = problem.obstacles
    grow = config.body_disc_radius_m + config.obstacle_clearance_m
    for j in range(len(obs)):
        a, b = obs.semi_length_m[j] + grow, obs.semi_width_m[j] + grow
        slots[j, :OBSTACLE_DISC] = (
            obs.x_m[j],
            obs.y_m[j],
            np.cos(obs.yaw_rad[j]),
            np.sin(obs.yaw_rad[j]),
            np.full(n1, 1.0 / a),
            np.full(n1, 1.0 / b),
            np.full(n1, min(a, b)),
        )
    return out


def choose_body_discs(
    config: MpcConfig, params: np.ndarray, x: np.ndarray, y: np.ndarray, yaw: np.ndarray
) -> None:
    """Point each obstacle row at the body disc nearest to that obstacle at the given stage
    poses. "Every disc clears every obstacle" is "the nearest disc clears it", and linearising
    that minimum at a pose is linearising its nearest disc: one QP row per obstacle, not three."""
    base = len(_STAGE_PARAMETERS)
    slots = params[base:].reshape(config.max_obstacles, OBSTACLE_FIELDS, -1)
    offsets = np.asarray(config.body_disc_offsets_m)[:, None, None]
    dx = x + offsets * np.cos(yaw) - slots[:, 0]  # (discs, obstacles, stages)
    dy = y + offsets * np.sin(yaw) - slots[:, 1]
    la = (slots[:, 2] * dx + slots[:, 3] * dy) * slots[:, 4]
    lb = (slots[:, 2] * dy - slots[:, 3] * dx) * slots[:, 5]
    slots[:, OBSTACLE_DISC] = offsets[np.argmin(la * la + lb * lb, axis=0), 0, 0]


def params_per_body_disc(config: MpcConfig, params: np.ndarray) -> list[np.ndarray]:
    """The parameter matrix once per body disc, every obstacle row pointed at that disc: for a
    solver that states "every disc clears every obstacle" outright (the IPOPT baseline)."""
    base = len(_STAGE_PARAMETERS)
    out = []
    for offset in config.body_disc_offsets_m:
        copy = params.copy()
        copy[base:].reshape(config.max_obstacles, OBSTACLE_FIELDS, -1)[:, OBSTACLE_DISC] = offset
        out.append(copy)
    return out


def variable_bounds(config: MpcConfig, problem: MpcProblem) -> tuple[np.ndarray, np.ndarray]:
    """Bounds on z = [x_0, u_0, …, x_N]; x_0 is pinned to the initial state."""
    n, width = config.horizon_steps, NX + NU
    lim = problem.limits
    lower = np.full((n + 1, width), -np.inf)
    upper = np.full((n + 1, width), np.inf)
    lower[:, ISTEER_CMD], upper[:, ISTEER_CMD] = -config.max_steer_rad, config.max_steer_rad
    lower[:, ISLACK_SAFETY:NX] = 0.0
    lower[:, NX + IU_STEER_RATE] = -config.max_steer_rate_radps
    upper[:, NX + IU_STEER_RATE] = config.max_steer_rate_radps
    lower[:, NX + IU_JERK], upper[:, NX + IU_JERK] = -lim.max_jerk_mps3, lim.max_jerk_mps3
    lower[:, NX + IU_SLACK_SAFETY :] = 0.0
    # A command already outside the comfort range may only come back at the jerk limit.
    swing = lim.max_jerk_mps3 * config.step_s * np.arange(n + 1)
    accel_cmd = problem.initial_state[IACCEL_CMD]
    min_accel = max(lim.min_accel_mps2, config.hard_min_accel_mps2)
    max_accel = min(lim.max_accel_mps2, config.hard_max_accel_mps2)
    lower[:, IACCEL_CMD] = np.minimum(min_accel, accel_cmd + swing)
    upper[:, IACCEL_CMD] = np.maximum(max_accel, accel_cmd - swing)
    lower[0, :N_PHYSICAL] = upper[0, :N_PHYSICAL] = problem.initial_state
    lower[0, IPROGRESS] = upper[0, IPROGRESS] = problem.reference.s_m[0]
    upper[0, ISLACK_SAFETY:NX] = 0.0
    return lower.ravel()[: n * width + NX], upper.ravel()[: n * width + NX]


def _initial_x(problem: MpcProblem) -> np.ndarray:
    """Full initial state: the physical one, progress at the first stage's arc length, no slack."""
    x0 = np.concatenate([problem.initial_state, np.zeros(NX - N_PHYSICAL)])
    x0[IPROGRESS] = problem.reference.s_m[0]
    return x0


def _invalid_inputs(problem: MpcProblem) -> str:
    """Empty when every number is usable, else what is not."""
    checks = {
        "initial state": problem.initial_state,
        "limits": np.array(dataclasses.astuple(problem.limits)),
    }
    checks.update(
        {
            f"reference {f.name}": getattr(problem.reference, f.name)
            for f in dataclasses.fields(StageReference)
        }
    )
    checks.update(
        {
            f"obstacles {f.name}": getattr(problem.obstacles, f.name)
            for f in dataclasses.fields(ObstacleSet)
        }
    )
    bad = [name for name, values in checks.items() if not np.all(np.isfinite(values))]
    if np.any(np.isinf(problem.s_stop_m)):
        bad.append("s_stop")
    if not math.isfinite(problem.stamp_s):
        bad.append("stamp")
    lim = problem.limits
    if not (
        lim.min_accel_mps2 < lim.max_accel_mps2
        and lim.max_jerk_mps3 > 0.0
        and lim.max_lateral_accel_mps2 > 0.0
    ):
        bad.append("limits out of order")
    return ", ".join(bad)


class _CommandChannel:
    """What one command channel was (or is being) sent, by send time: a piecewise-linear record."""

    def __init__(self):
        self.t_s = np.zeros(0)
        self.value = np.zeros(0)

    def write(self, t_s: np.ndarray, value: np.ndarray) -> None:
        """Samples from t_s[0] on replace what was planned for then; old history ages out."""
        keep = (self.t_s < t_s[0]) & (self.t_s >= t_s[0] - COMMAND_HISTORY_S)
        self.t_s = np.concatenate([self.t_s[keep], t_s])
        self.value = np.concatenate([self.value[keep], value])

    def at(self, t_s: float, default: float) -> float:
        return default if self.t_s.size == 0 else float(np.interp(t_s, self.t_s, self.value))

    def lagged(self, t_s: float, tau_s: float, default: float) -> float:
        """What a first-order actuator (time constant tau_s) fed this record would show at t_s,
        settled on the oldest sample kept."""
        if self.t_s.size == 0:
            return default
        times = np.arange(t_s - COMMAND_HISTORY_S, t_s, PREDICTION_SUBSTEP_S)
        response = float(np.interp(times[0], self.t_s, self.value))
        keep = 1.0 - math.exp(-PREDICTION_SUBSTEP_S / tau_s)
        for command in np.interp(times, self.t_s, self.value):
            response += (command - response) * keep
        return response


# --- the planner ----------------------------------------------------------------------------------
class MpcPlanner:
    """Builds the OCP once; each solve is numeric only, warm-started from the last plan."""

    def __init__(self, config: MpcConfig):
        self.config = config
        self._qp_data, self._qp, self._rollout, self._step = _build_solver(config)
        self._xs, self._us = _stage_slices(config)
        self._t_rel = config.stage_times_s()
        self._pose = [self._state_index(i) for i in (IX, IY, IYAW)]
        self._physical = np.concatenate([self._state_index(i) for i in range(N_PHYSICAL)])
        self._steer_sent = _CommandChannel()
        self._accel_sent = _CommandChannel()
        self._previous_z: np.ndarray | None = None
        self._previous_stamp_s = -math.inf
        self._previous_ok = False
        self.consecutive_failures = 0
        self.last_problem: MpcProblem | None = None

    def reset(self) -> None:
        """Forget warm start, command history and failures (e.g. after re-engaging)."""
        self._steer_sent, self._accel_sent = _CommandChannel(), _CommandChannel()
        self._previous_z, self._previous_stamp_s, self._previous_ok = None, -math.inf, False
        self.consecutive_failures = 0

    def record_applied_command(self, stamp_s: float, steer_rad: float, accel_mps2: float) -> None:
        """Tell the planner what was really sent at stamp_s when it was not its own plan
        (a supervisor override, a limiter clamp); the dead-time prediction then uses it."""
        self._steer_sent.write(np.array([stamp_s]), np.array([steer_rad]))
        self._accel_sent.write(np.array([stamp_s]), np.array([accel_mps2]))

    # -- dead time ------------------------------------------------------------------------------
    def predict_initial_state(self, state: VanState) -> np.ndarray:
        """(x, y, yaw, v, δ, a, δ_cmd, a_cmd) at stamp + T_p, integrating the measured state
        through the dead time with the commands already sent (RK4, PREDICTION_SUBSTEP_S).
        With no history yet (first solve, after reset) the measured steer and accel stand in
        for the commands, i.e. the actuators are assumed settled."""
        cfg, t0 = self.config, state.stamp_s
        horizon = cfg.prediction_time_s
        steps = max(1, math.ceil(horizon / PREDICTION_SUBSTEP_S - 1e-9))
        h = horizon / steps
        x, y, yaw, v, steer, accel = (float(value) for value in state.as_array())
        v = max(v, 0.0)
        if v <= STANDSTILL_SPEED_MPS:
            accel = max(accel, 0.0)

        def rates(s, steer_in, accel_in):
            return (
                s[3] * math.cos(s[2]),
                s[3] * math.sin(s[2]),
                s[3] * math.tan(s[4]) / cfg.wheelbase_m,
                s[5],
                (steer_in - s[4]) / cfg.steer_tau_s,
                (accel_in - s[5]) / cfg.accel_tau_s,
            )

        s = (x, y, yaw, v, steer, accel)
        for i in range(steps):
            t_mid = t0 + (i + 0.5) * h
            steer_in = self._steer_sent.at(t_mid - cfg.steer_dead_time_s, state.steer_rad)
            accel_in = self._accel_sent.at(t_mid - cfg.accel_dead_time_s, state.accel_mps2)
            k1 = rates(s, steer_in, accel_in)
            k2 = rates([a + h / 2 * b for a, b in zip(s, k1)], steer_in, accel_in)
            k3 = rates([a + h / 2 * b for a, b in zip(s, k2)], steer_in, accel_in)
            k4 = rates([a + h * b for a, b in zip(s, k3)], steer_in, accel_in)
            s = [
                a + h / 6 * (b1 + 2 * b2 + 2 * b3 + b4)
                for a, b1, b2, b3, b4 in zip(s, k1, k2, k3, k4)
            ]
            s[3] = max(s[3], 0.0)  # the brakes stop the van; they do not reverse it
        steer_cmd = self._steer_sent.at(t0 + horizon - cfg.steer_dead_time_s, state.steer_rad)
        accel_cmd = self._accel_sent.at(t0 + horizon - cfg.accel_dead_time_s, state.accel_mps2)
        out = np.array([*s, np.clip(steer_cmd, -cfg.max_steer_rad, cfg.max_steer_rad), accel_cmd])
        if out[IV] <= STANDSTILL_SPEED_MPS:
            # Standing, the plan starts from a released brake: held braking does nothing to a
            # van at rest, so the model (linearised there) would not see that drive moves it.
            # The send schedule releases the real brake at the comfort jerk (_solution).
            out[IACCEL] = max(out[IACCEL], 0.0)
            out[IACCEL_CMD] = max(out[IACCEL_CMD], 0.0)
            expected = self._accel_sent.lagged(t0 - cfg.accel_dead_time_s, cfg.accel_tau_s, accel)
            if expected - accel > UNAPPLIED_DRIVE_MPS2:
                out[IACCEL_CMD] = min(out[IACCEL_CMD], STANDSTILL_MAX_DRIVE_MPS2)
        if self._previous_z is not None and math.isfinite(out[IYAW]):
            # Measured yaw is wrapped to ±π, the plan's is continuous: heading west, the two
            # differ by 2π every other cycle, and the warm start would turn the van round once
            # between its first two stages (a linearisation that sent the plan off the map).
            previous = float(self._previous_z[IYAW])
            out[IYAW] = previous + math.remainder(out[IYAW] - previous, math.tau)
        return out

    # -- reference --------------------------------------------------------------------------------
    def stage_arc_lengths(self, path: TrackingPath, state: VanState) -> np.ndarray:
        """Where along `path` each stage is predicted to be: the last plan's speeds shifted to
        now, or (cold) the path's speed reached at the comfort accel."""
        x0 = self.predict_initial_state(state)
        s0 = path.project(x0[IX], x0[IY])
        warm = self._shifted_previous(state.stamp_s)
        dt = self.config.step_s
        if warm is not None:
            speed = np.maximum(warm[self._state_index(IV)], 0.0)
        else:
            speed = np.empty(self.config.horizon_steps + 1)
            speed[0], s = x0[IV], s0
            for k in range(self.config.horizon_steps):
                target = float(np.interp(s, path.s_m, path.speed_mps))
                speed[k + 1] = min(target, speed[k] + COMFORT_MAX_ACCEL_MPS2 * dt)
                s += 0.5 * (speed[k] + speed[k + 1]) * dt
        return s0 + np.concatenate([[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1]) * dt)])

    def sample_reference(self, path: TrackingPath, state: VanState) -> StageReference:
        """The path at the stages' predicted arc lengths (held at the path's end: give a stop
        point there if the path ends within the horizon)."""
        return path.sample(self.stage_arc_lengths(path, state), self.config.front_bumper_m)

    def make_problem(
        self,
        state: VanState,
        reference: StageReference,
        obstacles: ObstacleSet | None = None,
        s_stop_m: float | np.ndarray | None = None,
        limits: MotionLimits | None = None,
    ) -> MpcProblem:
        """The instance for this state: dead-time prediction and the nearest obstacles."""
        n1 = self.config.horizon_steps + 1
        obstacles = ObstacleSet.none(n1) if obstacles is None else obstacles
        if len(obstacles) > self.config.max_obstacles:
            gap = np.hypot(obstacles.x_m - reference.x_m, obstacles.y_m - reference.y_m).min(axis=1)
            keep = np.sort(np.argsort(gap - obstacles.semi_length_m)[: self.config.max_obstacles])
            obstacles = ObstacleSet(
                obstacles.x_m[keep],
                obstacles.y_m[keep],
                obstacles.yaw_rad[keep],
                obstacles.semi_length_m[keep],
                obstacles.semi_width_m[keep],
            )
        # None means no stop point (NaN in the instance); a NaN given here is a broken input.
        stop = np.full(n1, math.nan)
        if s_stop_m is not None:
            stop = np.broadcast_to(np.asarray(s_stop_m, dtype=float), (n1,)).copy()
            stop[np.isnan(stop)] = math.inf
        return MpcProblem(
            state.stamp_s,
            self.predict_initial_state(state),
            reference,
            obstacles,
            stop,
            self.config.limits if limits is None else limits,
        )

    # -- solving ----------------------------------------------------------------------------------
    def solve(
        self,
        state: VanState,
        reference: StageReference,
        obstacles: ObstacleSet | None = None,
        s_stop_m: float | np.ndarray | None = None,
        limits: MotionLimits | None = None,
    ) -> MpcSolution:
        """Plan from `state` along `reference` (N+1 stages at config.stage_times_s() after the
        stamp, as are the obstacle predictions). s_stop_m: arc length along the reference that
        the front bumper must not pass, one for all stages or one per stage (None: no stop
        point). Never raises on bad numbers: a
        non-finite input or a failed QP gives the shifted previous plan with ok=False."""
        started = time.perf_counter()
        problem = self.make_problem(state, reference, obstacles, s_stop_m, limits)
        return self._solve(problem, started)

    def solve_problem(self, problem: MpcProblem) -> MpcSolution:
        """Solve a prepared (e.g. recorded) instance, warm-started like a live solve."""
        return self._solve(problem, time.perf_counter())

    def record_instance(self, path: str | Path) -> None:
        """Dump the last solved instance to .npz (load_problems reads it back)."""
        if self.last_problem is None:
            raise ValueError("no instance solved yet")
        save_problems(path, [self.last_problem])

    def _solve(self, problem: MpcProblem, started: float) -> MpcSolution:
        self.last_problem = problem
        bad = _invalid_inputs(problem)
        if bad:
            return self._fail(problem, f"invalid input: {bad}", 0, started)
        params = stage_parameters(self.config, problem)
        lower, upper = variable_bounds(self.config, problem)
        z = self._shifted_previous(problem.stamp_s) if self._previous_ok else None
        budget = self.config.max_iterations
        if z is None:
            z, budget = self._cold_start(problem), self.config.cold_start_iterations
        z[self._xs[0]] = lower[self._xs[0]]
        status, iterations = STATUS_ITERATE, 0
        for iterations in range(1, budget + 1):
            choose_body_discs(self.config, params, *(z[index] for index in self._pose))
            h, g, a, lba, uba = self._qp_data(z, params)
            step = (
                self._qp(h=h, g=g, a=a, lba=lba, uba=uba, lbx=lower - z, ubx=upper - z)["x"]
                .full()
                .ravel()
            )
            qp_status = self._qp.stats()["return_status"]
            if qp_status != 0 or not np.all(np.isfinite(step)):
                return self._fail(
                    problem, f"qp failed: hpipm status {qp_status}", iterations, started
                )
            z = z + step
            if np.max(np.abs(step[self._physical])) <= self.config.step_tolerance:
                status = STATUS_CONVERGED
                break
        self._previous_z, self._previous_stamp_s, self._previous_ok = z, problem.stamp_s, True
        self.consecutive_failures = 0
        return self._solution(z, problem, True, False, status, iterations, started)

    def _fail(
        self, problem: MpcProblem, status: str, iterations: int, started: float
    ) -> MpcSolution:
        """The previous plan shifted to now, or, with none usable, a straight comfort stop."""
        self.consecutive_failures += 1
        self._previous_ok = False
        z = self._shifted_previous(problem.stamp_s)
        if z is None:
            z = self._stopping_rollout(problem)
        return self._solution(z, problem, False, True, status, iterations, started)

    # -- helpers ----------------------------------------------------------------------------------
    def _state_index(self, i: int) -> np.ndarray:
        return np.arange(self.config.horizon_steps + 1) * (NX + NU) + i

    def _shifted_previous(self, stamp_s: float) -> np.ndarray | None:
        """The last good plan's z moved to stages that start at stamp_s (linear in time)."""
        age = stamp_s - self._previous_stamp_s
        if self._previous_z is None or not 0.0 <= age <= MAX_WARM_START_AGE_S:
            return None
        n, width = self.config.horizon_steps, NX + NU
        # One stage past the old horizon, commands held, so the new last stage is not a copy.
        padded = np.concatenate([self._previous_z, np.zeros(NU + width)]).reshape(n + 2, width)
        padded[n, IU_SLACK_SAFETY + NX :] = 0.0
        padded[n + 1, :NX] = np.asarray(self._step(padded[n, :NX], padded[n, NX:])).ravel()
        position = np.clip(np.arange(n + 1) + age / self.config.step_s, 0.0, n + 1)
        low = np.minimum(position.astype(int), n)
        frac = (position - low)[:, None]
        shifted = padded[low] * (1.0 - frac) + padded[low + 1] * frac
        shifted[:, NX:] = padded[np.minimum(np.round(position).astype(int), n), NX:]
        return shifted.ravel()[: n * width + NX].copy()

    def _rollout_z(self, x0: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        states = np.asarray(self._rollout(x0, inputs.T)).T
        n = self.config.horizon_steps
        z = np.zeros(n * (NX + NU) + NX)
        z[self._xs[0]] = x0
        for k in range(n):
            z[self._us[k]] = inputs[k]
            z[self._xs[k + 1]] = states[k]
        return z

    def _cold_start(self, problem: MpcProblem) -> np.ndarray:
        """Commands held as they are: a dynamically consistent first guess."""
        return self._rollout_z(_initial_x(problem), np.zeros((self.config.horizon_steps, NU)))

    def _stopping_rollout(self, problem: MpcProblem) -> np.ndarray:
        """Steering held, accel command ramped at the comfort jerk to the comfort decel."""
        cfg = self.config
        x0 = np.nan_to_num(_initial_x(problem))
        target = COMFORT_MIN_ACCEL_MPS2
        inputs = np.zeros((cfg.horizon_steps, NU))
        accel = x0[IACCEL_CMD]
        for k in range(cfg.horizon_steps):
            inputs[k, IU_JERK] = np.clip(
                (target - accel) / cfg.step_s, -COMFORT_JERK_MPS3, COMFORT_JERK_MPS3
            )
            accel += inputs[k, IU_JERK] * cfg.step_s
        z = self._rollout_z(x0, inputs)
        speed = z[self._state_index(IV)]
        z[self._state_index(IV)] = np.maximum(speed, 0.0)
        return z

    def _solution(
        self,
        z: np.ndarray,
        problem: MpcProblem,
        ok: bool,
        fallback: bool,
        status: str,
        iterations: int,
        started: float,
    ) -> MpcSolution:
        cfg = self.config
        n, width = cfg.horizon_steps, NX + NU
        states = np.concatenate([z, np.zeros(NU)]).reshape(n + 1, width)
        x, u = states[:, :NX], states[:, NX:]
        t = self._t_rel
        stamp = problem.stamp_s
        # Send-time schedules: the command that reaches the actuator at t_k left T_dead earlier;
        # before the new plan's first breakpoint the old schedule (already being sent) holds.
        steer_t, steer_v = t - cfg.steer_dead_time_s, x[:, ISTEER_CMD].copy()
        accel_t, accel_v = t - cfg.accel_dead_time_s, x[:, IACCEL_CMD].copy()
        # Standing, the plan starts from a released brake (predict_initial_state): the command
        # being sent gets there at the comfort jerk, so pulling away from the brake hold does not
        # jolt. Standing and planning to stay so for a while: send the bridge's brake hold
        # instead of the model's near-zero accel (the interior-point solution of a stopped plan
        # creeps by mm/s), also reached at the comfort jerk. A plan that pulls away within
        # HOLD_LOOKAHEAD_S gets no hold, so it never waits a cycle for its own brake.
        sending = self._accel_sent.at(stamp, accel_v[0])
        ramp = COMFORT_JERK_MPS3 * (accel_t - accel_t[0])
        if x[0, IV] <= STANDSTILL_SPEED_MPS:
            accel_v = np.minimum(accel_v, sending + ramp)
        stopped = np.cumprod(x[:, IV] <= STANDSTILL_SPEED_MPS).astype(bool)
        if stopped[t <= t[0] + HOLD_LOOKAHEAD_S].all():
            accel_v[stopped] = np.minimum(
                accel_v[stopped], np.maximum(sending - ramp[stopped], STANDSTILL_HOLD_ACCEL_MPS2)
            )
        if steer_t[0] > 1e-9:
            steer_t = np.concatenate([[0.0], steer_t])
            steer_v = np.concatenate([[self._steer_sent.at(stamp, steer_v[0])], steer_v])
        if accel_t[0] > 1e-9:
            accel_t = np.concatenate([[0.0], accel_t])
            accel_v = np.concatenate([[self._accel_sent.at(stamp, accel_v[0])], accel_v])
        if math.isfinite(stamp) and np.all(np.isfinite(steer_v)) and np.all(np.isfinite(accel_v)):
            self._steer_sent.write(stamp + steer_t, steer_v)
            self._accel_sent.write(stamp + accel_t, accel_v)
        return MpcSolution(
            ok=ok,
            fallback=fallback,
            status=status,
            solve_time_ms=(time.perf_counter() - started) * 1e3,
            iterations=iterations,
            consecutive_failures=self.consecutive_failures,
            stamp_s=stamp,
            t_s=t.copy(),
            x_m=x[:, IX].copy(),
            y_m=x[:, IY].copy(),
            yaw_rad=x[:, IYAW].copy(),
            speed_mps=x[:, IV].copy(),
            steer_rad=x[:, ISTEER].copy(),
            accel_mps2=x[:, IACCEL].copy(),
            steer_cmd_rad=x[:, ISTEER_CMD].copy(),
            accel_cmd_mps2=x[:, IACCEL_CMD].copy(),
            steer_rate_radps=np.append(u[:-1, IU_STEER_RATE], 0.0),
            jerk_mps3=np.append(u[:-1, IU_JERK], 0.0),
            safety_slack_m=x[:, ISLACK_SAFETY].copy(),
            steer_send_t_s=steer_t,
            steer_send_rad=steer_v,
            accel_send_t_s=accel_t,
            accel_send_mps2=accel_v,
        )
