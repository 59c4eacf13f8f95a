"""The stack's operating modes, as the supervisor publishes them on /system/mode.

Pure (no rclpy): the supervisor and command gate cores decide on these, interfaces.py encodes them.
"""

from __future__ import annotations

import enum


class OperatingMode(str, enum.Enum):
    MANUAL = "MANUAL"  # a person drives, or autonomy is not armed
    READY = "READY"  # armed; autonomy holds the van until healthy
    AUTONOMOUS = "AUTONOMOUS"  # the planner's commands reach the van
    MRM_COMFORTABLE_STOP = "MRM_COMFORTABLE_STOP"  # minimal-risk stop in lane, ≤ 2 m/s², latched
    MRM_EMERGENCY_STOP = "MRM_EMERGENCY_STOP"  # minimal-risk stop up to 5 m/s², latched

    @property
    def is_mrm(self) -> bool:
        return self in (OperatingMode.MRM_COMFORTABLE_STOP, OperatingMode.MRM_EMERGENCY_STOP)
