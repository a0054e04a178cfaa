import threading
import time

from services.policy.locks import GroupLocks


def test_an_execution_of_a_group_waits_for_the_one_holding_it_but_not_for_other_groups():
    locks = GroupLocks()
    held, release, order = threading.Event(), threading.Event(), []

    def first() -> None:
        with locks.hold("web"):
            order.append("first in")
            held.set()
            release.wait(5)
            order.append("first out")

    def second() -> None:
        with locks.hold("web"):
            order.append("second in")

    holder = threading.Thread(target=first)
    holder.start()
    held.wait(5)
    with locks.hold("api"):
        order.append("other group")
    waiter = threading.Thread(target=second)
    waiter.start()
    time.sleep(0.2)  # the second execution comes while the first holds the group
    release.set()
    holder.join(5)
    waiter.join(5)
    assert order == ["first in", "other group", "first out", "second in"]


def test_the_count_of_ended_holds_tells_a_reader_whether_an_execution_ended_since_it_read():
    locks = GroupLocks()
    before = locks.ended()
    with locks.hold("web"):
        assert locks.ended() == before  # a hold under way has not ended
    assert locks.ended() == before + 1
    try:
        with locks.hold("api"):
            raise RuntimeError("an execution that fails ends its hold too")
    except RuntimeError:
        pass
    assert locks.ended() == before + 2
