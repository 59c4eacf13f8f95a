"""Plane geometry the subsystems share."""
from __future__ import annotations

import math

import numpy as np


def wrap_angle(angle_rad):
    """Into [-π, π), for floats and arrays alike; plain float arithmetic for scalars (the
    tracker's per-track hot path)."""
    if isinstance(angle_rad, (float, int)):
        return (angle_rad + math.pi) % (2.0 * math.pi) - math.pi
    return (np.asarray(angle_rad) + math.pi) % (2.0 * math.pi) - math.pi
