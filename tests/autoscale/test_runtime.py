import gc

import pytest

from autoscale import runtime


@pytest.fixture
def restored_collector():
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    (gc.enable if enabled else gc.disable)()


def test_settling_the_collector_freezes_what_is_alive_and_collects_less_often(restored_collector):
    alive_before = ["held by the service"]
    runtime.settle_garbage_collector()
    assert gc.get_freeze_count() > 0
    assert not any(tracked is alive_before for tracked in gc.get_objects()), "frozen objects are not walked again"
    assert gc.get_threshold() == (
        runtime.YOUNG_COLLECTION_ALLOCATIONS, runtime.YOUNG_COLLECTIONS_PER_MIDDLE, runtime.MIDDLE_COLLECTIONS_PER_FULL
    )
    assert gc.get_threshold()[0] > 700


def test_the_collector_held_while_the_services_are_built_runs_again_once_settled(restored_collector):
    runtime.hold_garbage_collector()
    assert not gc.isenabled()
    runtime.settle_garbage_collector()
    assert gc.isenabled()
