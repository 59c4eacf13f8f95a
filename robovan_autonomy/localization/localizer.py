"""The localization pipeline without ROS: screening of every input, initialisation, fusion,
divergence detection and relocalization, and the confidence figure consumers act on.

Stages INITIALIZING, TRACKING / DEGRADED and LOST, with relocalization after a divergence; every
refused input is counted by reason in `rejected` and never reaches the filter. What each stage
does: docs/ARCHITECTURE.md#the-localization-pipeline.

No rclpy here.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import math

import numpy as np

from robovan_autonomy.localization.ekf import (
    YAW,
    Estimate,
    ImuInput,
    LocalizationFilter,
    Outcome,
    PoseFix,
    PositionFix,
    WheelInput,
    X,
    Y,
)
from robovan_autonomy.localization.geodesy import MapFix
from robovan_autonomy.localization.scan_matcher import (
    MIN_INLIER_FRACTION,
    MatchResult,
    ScanError,
    ScanMatcher,
)

MAX_GYRO_RADPS = 5.0  # beyond any van's yaw rate (a spin), and a consumer IMU's range
MAX_ACCEL_MPS2 = 60.0  # ~6 g: crash territory; readings beyond are faults
INIT_MAX_FIX_SIGMA_M = 5.0  # a fix worse than this cannot seed a heading search
INIT_SCAN_FIX_GAP_S = 0.25  # scan and fix this close in time see the van at one place
INIT_RETRY_PERIOD_S = 1.0  # a failed heading search is retried at most this often (CPU)
INIT_WITHOUT_LIDAR_AFTER_S = 3.0  # no scan for this long after the first fix: GNSS-only start
INIT_MIN_COURSE_SPEED_MPS = 1.0  # a GNSS course means something above walking pace
INIT_COURSE_DISTANCE_M = 3.0
INIT_GNSS_YAW_SIGMA_RAD = 0.2
INPUT_TIMEOUT_S = 0.5  # no IMU and no wheel speed for this long: the estimate is blind
SPEED_MARGIN = 1.5  # wheel speeds beyond 1.5 × the van's top speed are faults
STEER_MARGIN = 1.2
GNSS_HISTORY = 50  # fixes kept for the GNSS-only start (5 s at 10 Hz)
RESTART_MATCH_MAX_AGE_S = 0.5  # a relocalization without GNSS restarts at a scan match this recent…
RESTART_COVARIANCE_SCALE = (
    4.0  # …with twice its σ: it disagreed with the filter, which may have been right
)


class Mode(str, enum.Enum):
    INITIALIZING = "INITIALIZING"
    TRACKING = "TRACKING"
    DEGRADED = "DEGRADED"
    LOST = "LOST"


@dataclasses.dataclass(frozen=True)
class LocalizerConfig:
    max_speed_mps: float  # the van's hardware top speed (vehicle parameters)
    max_steer_rad: float
    good_position_sigma_m: float = 0.15  # at or under: full confidence
    lost_position_sigma_m: float = 1.0  # at or over: lost
    good_yaw_sigma_rad: float = 0.01
    lost_yaw_sigma_rad: float = 0.1
    tracking_confidence: float = 0.5  # below: DEGRADED
    gnss_covariance_scale: float = 4.0  # receiver errors wander for ~30 s: not white
    lidar_gated_limit: int = 10  # consecutive good-fit scans refused: diverged
    gnss_gated_limit_s: float = 3.0  # GNSS refused this long with no scan accepted: diverged
    lidar_vouch_s: float = 1.0  # a scan accepted this recently vouches for the estimate
    min_inlier_fraction: float = MIN_INLIER_FRACTION


@dataclasses.dataclass(frozen=True)
class Health:
    mode: Mode
    confidence: float
    position_sigma_m: float
    yaw_sigma_rad: float
    message: str


class Localizer:
    def __init__(
        self, filter_: LocalizationFilter, matcher: ScanMatcher | None, config: LocalizerConfig
    ):
        self.filter, self.matcher, self.config = filter_, matcher, config
        self.rejected: collections.Counter = collections.Counter()
        self.accepted: collections.Counter = collections.Counter()
        self.events: collections.Counter = collections.Counter()  # initialisations, divergences
        self.last_problem = ""
        self.last_match: MatchResult | None = None
        self.nis: dict[str, float] = {}
        self.initialized_at: tuple[float, np.ndarray] | None = None  # for the odometry baseline
        self._stamps: dict[str, float] = {}
        self._fixes: collections.deque[MapFix] = collections.deque(maxlen=GNSS_HISTORY)
        self._first_fix_s: float | None = None
        self._last_scan_s = -math.inf
        self._last_init_try_s = -math.inf
        self._last_lidar_accept_s = -math.inf
        self._gnss_gated_since: float | None = None
        self._lidar_gated = 0
        self._last_good_match: tuple[float, MatchResult] | None = None
        self._wheel_speed = 0.0
        self._diverged = False

    # -- screening --------------------------------------------------------------------------
    def reject(self, reason: str, detail: str = "") -> None:
        self.rejected[reason] += 1
        self.last_problem = f"{reason}: {detail}" if detail else reason

    def _in_order(self, stream: str, t_s: float) -> bool:
        """Within a stream stamps must grow: an older or repeated stamp is refused."""
        previous = self._stamps.get(stream, -math.inf)
        if not math.isfinite(t_s) or t_s <= previous:
            self.reject(f"{stream}_out_of_order", f"stamp {t_s:.3f} s, previous {previous:.3f} s")
            return False
        self._stamps[stream] = t_s
        return True

    def _fuse(self, stream: str, item) -> Outcome:
        result = self.filter.add(item)
        if result.outcome is Outcome.ACCEPTED:
            self.accepted[stream] += 1
            if math.isfinite(result.nis):
                self.nis[stream] = result.nis
        elif result.outcome is not Outcome.NOT_INITIALIZED:
            self.reject(
                f"{stream}_{result.outcome.value}",
                f"NIS {result.nis:.1f}" if math.isfinite(result.nis) else "",
            )
        return result.outcome

    # -- inputs -------------------------------------------------------------------------------
    def on_imu(self, t_s: float, gyro_z_radps: float, accel_x_mps2: float) -> None:
        if abs(gyro_z_radps) > MAX_GYRO_RADPS or abs(accel_x_mps2) > MAX_ACCEL_MPS2:
            self.reject(
                "imu_implausible", f"rate {gyro_z_radps:.2f} rad/s, accel {accel_x_mps2:.1f} m/s²"
            )
            return
        if self._in_order("imu", t_s):
            self._fuse("imu", ImuInput(t_s, gyro_z_radps, accel_x_mps2))

    def on_wheel(self, t_s: float, speed_mps: float, steer_rad: float) -> None:
        cfg = self.config
        if (
            abs(speed_mps) > SPEED_MARGIN * cfg.max_speed_mps
            or abs(steer_rad) > STEER_MARGIN * cfg.max_steer_rad
        ):
            self.reject(
                "vehicle_status_implausible",
                f"speed {speed_mps:.1f} m/s, steer {steer_rad:.2f} rad",
            )
            return
        if self._in_order("vehicle_status", t_s):
            self._wheel_speed = speed_mps
            self._fuse("vehicle_status", WheelInput(t_s, speed_mps, steer_rad))

    def on_fix(self, fix: MapFix) -> None:
        if not self._in_order("gnss", fix.t_s):
            return
        self._fixes.append(fix)
        if self._first_fix_s is None:
            self._first_fix_s = fix.t_s
        if not self.filter.initialized:
            self._try_gnss_only_start(fix.t_s)
            return
        outcome = self._fuse(
            "gnss",
            PositionFix(fix.t_s, fix.xy_m, fix.covariance * self.config.gnss_covariance_scale),
        )
        if outcome is Outcome.ACCEPTED:
            self._gnss_gated_since = None
        elif outcome is Outcome.GATED:
            self._gnss_gated_since = (
                self._gnss_gated_since if self._gnss_gated_since is not None else fix.t_s
            )
            vouched = fix.t_s - self._last_lidar_accept_s <= self.config.lidar_vouch_s
            if not vouched and fix.t_s - self._gnss_gated_since >= self.config.gnss_gated_limit_s:
                self._diverge(
                    fix.t_s,
                    "GNSS refused for "
                    f"{fix.t_s - self._gnss_gated_since:.1f} s with no scan match to vouch",
                )

    def on_scan(self, t_s: float, points_base: np.ndarray) -> None:
        if self.matcher is None or not self._in_order("lidar", t_s):
            return
        self._last_scan_s = t_s
        try:
            kept = self.matcher.crop(points_base)
        except ScanError as err:
            self.reject("lidar_empty", str(err))
            return
        if not self.filter.initialized:
            self._try_lidar_start(t_s, kept)
            return
        guess = self.filter.estimate(t_s)
        if guess is None:
            self.reject("lidar_too_old", f"stamp {t_s:.3f} s")
            return
        match = self.matcher.match(kept, guess.pose)
        self.last_match = match
        if not match.good(self.config.min_inlier_fraction):
            self.reject(
                "lidar_poor_fit", f"{match.inlier_fraction:.0%} of points explained by the map"
            )
            return
        self._last_good_match = (t_s, match)
        outcome = self._fuse("lidar", PoseFix(t_s, match.pose, match.covariance))
        if outcome is Outcome.ACCEPTED:
            self._lidar_gated, self._last_lidar_accept_s = 0, t_s
        elif outcome is Outcome.GATED:
            self._lidar_gated += 1
            if self._lidar_gated >= self.config.lidar_gated_limit:
                self._diverge(
                    t_s, f"{self._lidar_gated} consecutive scan matches refused by the gate"
                )

    # -- initialisation and relocalization ------------------------------------------------------
    def _recent_fix(self, t_s: float) -> MapFix | None:
        for fix in reversed(self._fixes):
            if abs(fix.t_s - t_s) <= INIT_SCAN_FIX_GAP_S:
                sigma = math.sqrt(max(np.linalg.eigvalsh(fix.covariance)))
                return fix if sigma <= INIT_MAX_FIX_SIGMA_M else None
        return None

    def _try_lidar_start(self, t_s: float, kept: np.ndarray) -> None:
        fix = self._recent_fix(t_s)
        if fix is None or t_s - self._last_init_try_s < INIT_RETRY_PERIOD_S:
            return
        self._last_init_try_s = t_s
        match = self.matcher.heading_search(kept, fix.xy_m, self.filter.ekf.geometry.gnss_xy_m)
        if not match.good(self.config.min_inlier_fraction):
            self.reject(
                "init_no_fit", f"best heading explains {match.inlier_fraction:.0%} of the scan"
            )
            return
        self.last_match = match
        self._start(t_s, match.pose, match.covariance, "lidar heading search")

    def _try_gnss_only_start(self, t_s: float) -> None:
        """Without scans: a course from two fixes far enough apart while the van moves."""
        waited = (
            self._first_fix_s is not None and t_s - self._first_fix_s >= INIT_WITHOUT_LIDAR_AFTER_S
        )
        scans = t_s - self._last_scan_s <= INIT_WITHOUT_LIDAR_AFTER_S and self.matcher is not None
        if not waited or scans or abs(self._wheel_speed) < INIT_MIN_COURSE_SPEED_MPS:
            return
        newest = self._fixes[-1]
        older = next(
            (
                f
                for f in reversed(self._fixes)
                if np.hypot(*(newest.xy_m - f.xy_m)) >= INIT_COURSE_DISTANCE_M
            ),
            None,
        )
        if older is None:
            return
        delta = newest.xy_m - older.xy_m
        yaw = math.atan2(delta[1], delta[0]) + (math.pi if self._wheel_speed < 0.0 else 0.0)
        pose = np.array([*self.filter.ekf.antenna_to_base(newest.xy_m, yaw), yaw])
        cov = np.zeros((3, 3))
        cov[:2, :2] = newest.covariance
        cov[2, 2] = INIT_GNSS_YAW_SIGMA_RAD**2
        self._start(t_s, pose, cov, "GNSS course")

    def _start(self, t_s: float, pose: np.ndarray, cov: np.ndarray, how: str) -> None:
        self.filter.initialize(t_s, pose, cov, speed_mps=self._wheel_speed)
        self.initialized_at = (t_s, pose.copy())
        self.events["initialisations"] += 1
        self.events[f"start_{how.replace(' ', '_')}"] += 1
        self._lidar_gated, self._gnss_gated_since, self._diverged = 0, None, False
        self._last_lidar_accept_s = t_s if how == "lidar heading search" else -math.inf

    def _diverge(self, t_s: float, why: str) -> None:
        """Relocalize: from GNSS with a heading search at the next scan when a fix is at hand,
        else at the last good scan match."""
        self.events["divergences"] += 1
        self.last_problem = f"divergence: {why}"
        self._diverged = True
        recent_match = self._last_good_match
        self.filter.reset()
        self._last_init_try_s = -math.inf
        if (
            self._recent_fix(t_s) is None
            and recent_match is not None
            and t_s - recent_match[0] <= RESTART_MATCH_MAX_AGE_S
        ):
            self._start(
                recent_match[0],
                recent_match[1].pose,
                recent_match[1].covariance * RESTART_COVARIANCE_SCALE,
                "last scan match",
            )

    # -- outputs ------------------------------------------------------------------------------
    def estimate(self) -> Estimate | None:
        return self.filter.estimate() if self.filter.initialized else None

    def health(self, now_s: float) -> Health:
        cfg = self.config
        if not self.filter.initialized:
            why = (
                "relocalizing after a divergence"
                if self._diverged
                else "waiting for GNSS and LiDAR"
            )
            return Health(
                Mode.LOST if self._diverged else Mode.INITIALIZING, 0.0, math.inf, math.inf, why
            )
        est = self.filter.estimate()
        position_sigma = math.sqrt(max(np.linalg.eigvalsh(est.covariance[np.ix_([X, Y], [X, Y])])))
        yaw_sigma = math.sqrt(est.covariance[YAW, YAW])
        inputs_age = now_s - max(
            self._stamps.get("imu", -math.inf), self._stamps.get("vehicle_status", -math.inf)
        )
        if inputs_age > INPUT_TIMEOUT_S:
            return Health(
                Mode.LOST,
                0.0,
                position_sigma,
                yaw_sigma,
                f"no IMU or wheel speed for {inputs_age:.1f} s",
            )
        confidence = min(
            _ramp(position_sigma, cfg.good_position_sigma_m, cfg.lost_position_sigma_m),
            _ramp(yaw_sigma, cfg.good_yaw_sigma_rad, cfg.lost_yaw_sigma_rad),
        )
        if confidence <= 0.0:
            return Health(
                Mode.LOST,
                0.0,
                position_sigma,
                yaw_sigma,
                f"uncertainty {position_sigma:.2f} m / {yaw_sigma:.3f} rad is beyond use",
            )
        mode = Mode.TRACKING if confidence >= cfg.tracking_confidence else Mode.DEGRADED
        return Health(
            mode,
            confidence,
            position_sigma,
            yaw_sigma,
            f"{mode.value.lower()}: σ {position_sigma:.2f} m, {yaw_sigma:.4f} rad",
        )


def _ramp(value: float, good: float, lost: float) -> float:
    """1 at or under `good`, 0 at or over `lost`, linear between."""
    return float(min(1.0, max(0.0, (lost - value) / (lost - good))))
