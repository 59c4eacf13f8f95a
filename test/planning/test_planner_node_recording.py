"""The planner node records the MPC problems it solves for the bench, when asked to."""

from nav_msgs.msg import Odometry
from sensor_msgs.msg import PointCloud2

from robovan_autonomy import core_types as ct
from robovan_autonomy import interfaces as itf
from robovan_autonomy.planning.mpc import load_problems
from robovan_autonomy.planning.planner_node import PlannerNode


def plan_for(sim_graph, seconds, **parameters):
    """A planner on Harbour Road fed fresh odometry and an empty object table every 20 ms."""
    node = sim_graph.add(PlannerNode, mission_bays=["bay_D"], mission_dwell_s=[0.0], **parameters)
    odometry = sim_graph.publisher(Odometry, itf.ODOMETRY)
    objects = sim_graph.publisher(PointCloud2, itf.OBJECTS)

    def feed(t_s):
        odometry.publish(itf.encode_odometry(ct.PoseEstimate(t_s, 100.0, -1.75, 0.0, 0.0, 0.0)))
        objects.publish(itf.encode_objects(t_s, ct.empty_objects()))

    sim_graph.run(seconds, each_step=feed)
    return node


def test_solved_problems_are_written_to_the_file_when_the_node_shuts_down(sim_graph, tmp_path):
    path = tmp_path / "problems.npz"
    node = plan_for(sim_graph, 1.05, record_mpc_problems=str(path), record_mpc_every=2)
    assert not path.exists()
    sim_graph.remove(node)
    problems = load_problems(path)
    assert len(problems) >= 4  # ~10 cycles, every other one kept
    stamps = [p.stamp_s for p in problems]
    assert stamps == sorted(set(stamps))
    assert problems[0].initial_state[0] == 100.0


def test_nothing_is_recorded_unless_asked(sim_graph):
    node = plan_for(sim_graph, 0.5)
    assert node.recorded_problems == []
