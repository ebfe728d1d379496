"""The in-process progress channel: phases published to listeners, status from deep inside."""

from __future__ import annotations

import threading
import time

import pytest

from cloudimages import progress


def test_a_phase_is_published_when_it_starts_as_it_goes_and_when_it_ends() -> None:
    """Listeners see the start, the bytes and the end (whole) of a phase."""
    seen: list[progress.Update] = []
    with progress.subscribe(seen.append), progress.phase("Upload x", total=100) as shown:
        shown(40)
        time.sleep(progress.MIN_INTERVAL * 1.5)  # closer updates are dropped, but the last
        shown(70)
    assert seen[0].title == "Upload x"
    assert (seen[0].done, seen[0].total, seen[0].finished) == (0, 100, False)
    assert [u.done for u in seen if not u.finished][-1] == 70
    assert (seen[-1].done, seen[-1].finished, seen[-1].ok) == (100, True, True)
    assert len({u.phase for u in seen}) == 1


def test_a_failed_phase_ends_not_ok_and_keeps_its_bytes() -> None:
    """An exception inside the phase ends it with ok=False at the bytes reached."""
    seen: list[progress.Update] = []

    def cut_short() -> None:
        with progress.phase("Download y", total=10) as shown:
            shown(3)
            raise RuntimeError("cut")

    with progress.subscribe(seen.append), pytest.raises(RuntimeError):
        cut_short()
    assert (seen[-1].finished, seen[-1].ok) == (True, False)
    assert seen[-1].done == 3


def test_status_reaches_the_phase_of_the_calling_context_only() -> None:
    """report_status updates the phase this thread opened; another thread's is untouched."""
    seen: list[progress.Update] = []
    progress.report_status("nobody listens")  # outside any phase: nothing happens

    def other() -> None:
        with progress.phase("Export task", unit="wait", status="pending"):
            progress.report_status("processing")

    with progress.subscribe(seen.append):
        with progress.phase("Import task", unit="wait", status="pending"):
            worker = threading.Thread(target=other)
            worker.start()
            worker.join()
            progress.report_status("success")
        assert progress.current() is None
    statuses = {(u.title, u.status) for u in seen}
    assert ("Import task", "success") in statuses
    assert ("Export task", "processing") in statuses
    assert ("Import task", "processing") not in statuses


def test_percent_counts_in_bytes_of_the_total() -> None:
    """qemu-img's percentages become bytes of the phase's total."""
    seen: list[progress.Update] = []
    with progress.subscribe(seen.append), progress.phase("Convert", total=2000) as shown:
        shown.percent(50.0)
    assert 1000 in [u.done for u in seen]


def test_updates_from_many_threads_stay_whole() -> None:
    """Upload workers call one callback at once: every update is consistent."""
    seen: list[progress.Update] = []
    with progress.subscribe(seen.append), progress.phase("Upload", total=8000) as shown:
        workers = [
            threading.Thread(target=lambda n=n: [shown(n * 1000 + i) for i in range(1000)])
            for n in range(8)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert seen[-1].finished
    assert all(u.total == 8000 for u in seen)


def test_without_listeners_nothing_is_kept() -> None:
    """Publishing with nobody subscribed is allowed and leaves no listener behind."""
    with progress.phase("quiet", total=1) as shown:
        shown(1)
    seen: list[progress.Update] = []
    with progress.subscribe(seen.append):
        pass
    with progress.phase("after", total=1):
        pass
    assert seen == []


def test_tee_calls_every_callback() -> None:
    calls: list[tuple[str, int, int | None]] = []
    both = progress.tee(
        lambda d, t: calls.append(("a", d, t)), lambda d, t: calls.append(("b", d, t))
    )
    both(5, 10)
    assert calls == [("a", 5, 10), ("b", 5, 10)]
