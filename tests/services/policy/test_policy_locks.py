import threading
import time

from services.policy.locks import GroupLocks


def test_holding_a_group_says_whether_another_execution_held_it_first():
    locks = GroupLocks()
    held, release, answers = threading.Event(), threading.Event(), []

    def first() -> None:
        with locks.hold("web") as waited:
            answers.append(("first", waited))
            held.set()
            release.wait(5)

    holder = threading.Thread(target=first)
    holder.start()
    held.wait(5)
    with locks.hold("api") as waited:
        answers.append(("other group", waited))
    second = threading.Thread(target=lambda: answers.append(("second", _hold(locks, "web"))))
    second.start()
    time.sleep(0.2)  # the second execution comes while the first holds the group
    release.set()
    holder.join(5)
    second.join(5)
    assert answers == [("first", False), ("other group", False), ("second", True)]


def _hold(locks: GroupLocks, group_id: str) -> bool:
    with locks.hold(group_id) as waited:
        return waited
