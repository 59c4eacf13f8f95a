"""While a graph runs, what start-up built stays out of the garbage collector's scans (a full
collection of it outlasts a planning cycle), and is collectable again once the graph stops."""

import gc
import weakref

from robovan_autonomy.node_utils import startup_heap_frozen


def test_objects_built_before_the_run_are_not_scanned_while_it_runs():
    built_at_startup = [object() for _ in range(1000)]
    with startup_heap_frozen():
        assert gc.get_freeze_count() >= len(built_at_startup)


def test_the_heap_is_unfrozen_when_the_run_ends_even_by_an_error():
    try:
        with startup_heap_frozen():
            raise RuntimeError("a run that failed")
    except RuntimeError:
        pass
    assert gc.get_freeze_count() == 0


def test_cyclic_garbage_from_before_the_run_is_collected_not_frozen():
    class Cycle:
        pass

    cycle = Cycle()
    cycle.itself = cycle
    alive = weakref.ref(cycle)
    del cycle
    with startup_heap_frozen():
        assert alive() is None
