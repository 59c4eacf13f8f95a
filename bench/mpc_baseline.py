"""Baseline for bench/mpc.py: the same OCP as robovan_autonomy.planning.mpc, solved naively.

CasADi Opti + IPOPT (exact Hessian, MUMPS, default options but for an iteration cap), built once
with the instance data as parameters and expanded to SX (the usual one-line speed-up; without it
each IPOPT iteration costs ~4× more). Same model, cost and constraints: the planner's
OcpFunctions, stage_parameters and variable_bounds; where the planner checks each obstacle
against the body disc nearest to it at the current iterate, this checks every disc. No warm
start: every solve starts from the initial state held along the horizon (Opti's default of zeros
would put the van at the map origin).
"""

from __future__ import annotations

import time

import casadi as ca
import numpy as np

from robovan_autonomy.planning.mpc import (
    N_CORE_CONSTRAINTS,
    N_PHYSICAL,
    NU,
    NX,
    MpcConfig,
    MpcProblem,
    build_ocp_functions,
    params_per_body_disc,
    stage_parameters,
    variable_bounds,
)

# 300 iterations instead of IPOPT's 3000: a stopped van waiting at the line (the model's
# drive/brake split is not smooth at rest) runs it out either way, and at the default a single
# such instance takes ~18 s. Successful solves here need 8–90 iterations.
IPOPT_MAX_ITERATIONS = 300
IPOPT_OPTIONS = {
    "ipopt.print_level": 0,
    "print_time": False,
    "ipopt.sb": "yes",
    "expand": True,
    "ipopt.max_iter": IPOPT_MAX_ITERATIONS,
}


class IpoptBaseline:
    """Opti built once; bounds bound on the first solve (which entries are finite is fixed by the
    configuration, the values come with each instance)."""

    def __init__(self, config: MpcConfig):
        self.config = config
        fun = build_ocp_functions(config)
        n, width = config.horizon_steps, NX + NU
        opti = ca.Opti()
        z = opti.variable(n * width + NX)
        discs = [opti.parameter(config.n_parameters, n + 1) for _ in config.body_disc_offsets_m]
        lower = opti.parameter(z.shape[0])
        upper = opti.parameter(z.shape[0])
        initial = opti.parameter(NX)
        opti.subject_to(z[:NX] == initial)
        cost = 0
        for k in range(n + 1):
            xk = z[k * width : k * width + NX]
            params = discs[0][:, k]
            if k < n:
                uk = z[k * width + NX : (k + 1) * width]
                opti.subject_to(z[(k + 1) * width : (k + 1) * width + NX] == fun.step(xk, uk))
                cost += 0.5 * ca.sumsqr(fun.residuals(xk, uk, params))
            else:
                cost += 0.5 * ca.sumsqr(fun.terminal(xk, params))
            cost += fun.slack_cost(xk)
            if k > 0:
                opti.subject_to(fun.constraints(xk, params) >= 0)
                for other in discs[1:]:
                    opti.subject_to(fun.constraints(xk, other[:, k])[N_CORE_CONSTRAINTS:] >= 0)
        self._finite_lower = None
        self._opti, self._z, self._discs, self._lower, self._upper = opti, z, discs, lower, upper
        self._initial = initial
        self._cost = cost

    def _bind_bounds(self, lower: np.ndarray, upper: np.ndarray) -> None:
        """Bounds on the entries that are finite; x_0 is pinned by its own equality."""
        finite_lower, finite_upper = np.isfinite(lower), np.isfinite(upper)
        finite_lower[:NX] = finite_upper[:NX] = False  # x_0 is an equality constraint
        if self._finite_lower is None:
            self._finite_lower, self._finite_upper = finite_lower, finite_upper
            lo, hi = np.flatnonzero(finite_lower), np.flatnonzero(finite_upper)
            self._opti.subject_to(self._z[lo] >= self._lower[lo])
            self._opti.subject_to(self._z[hi] <= self._upper[hi])
            self._opti.minimize(self._cost)
            self._opti.solver("ipopt", IPOPT_OPTIONS)
        if not (
            np.array_equal(finite_lower, self._finite_lower)
            and np.array_equal(finite_upper, self._finite_upper)
        ):
            raise ValueError("an instance with other finite bounds than the first")
        self._opti.set_value(self._lower, np.where(finite_lower, lower, 0.0))
        self._opti.set_value(self._upper, np.where(finite_upper, upper, 0.0))

    def solve(self, problem: MpcProblem) -> tuple[bool, float, np.ndarray]:
        """(success, wall time in ms including Python, z)."""
        started = time.perf_counter()
        params = stage_parameters(self.config, problem)
        for disc, rows in zip(self._discs, params_per_body_disc(self.config, params)):
            self._opti.set_value(disc, rows)
        lower, upper = variable_bounds(self.config, problem)
        self._bind_bounds(lower, upper)
        self._opti.set_value(self._initial, lower[:NX])
        n, width = self.config.horizon_steps, NX + NU
        guess = np.zeros(n * width + NX)
        for k in range(n + 1):
            guess[k * width : k * width + N_PHYSICAL] = problem.initial_state
        self._opti.set_initial(self._z, guess)
        try:
            solution = self._opti.solve()
            ok, z = True, np.asarray(solution.value(self._z)).ravel()
        except RuntimeError:
            ok, z = False, np.asarray(self._opti.debug.value(self._z)).ravel()
        return ok, (time.perf_counter() - started) * 1e3, z
