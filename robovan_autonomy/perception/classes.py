"""Object classes shared by the detector, the tracker, the simulator and the evaluation.

One enum so a class_id on /perception/objects (uint8) means the same thing to every node.
"""

from __future__ import annotations

import enum


class ObjectClass(enum.IntEnum):
    """class_id values; 0…4 are contiguous so they double as detector output indices."""

    CAR = 0
    VAN_TRUCK = 1
    PEDESTRIAN = 2
    CYCLIST = 3
    STATIC = 4
    UNKNOWN = 255  # a LiDAR cluster no detector has labelled; the largest uint8, never an index
