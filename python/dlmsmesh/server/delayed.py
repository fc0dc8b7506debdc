"""Delayed, randomized answers to group requests (IEC TS 62056-8-20 8.3).

A meter that executed a confirmed group request answers after a delay drawn
uniformly per request inside its response window, so the members of a large
group do not all answer at once.  DESIGN, reusing Push setup semantics: the
window is the Push setup instance :data:`~dlmsmesh.cosem.groups.RESPONSE_WINDOW_OBIS`
of the meter, attribute 5 ``randomisation_start_interval`` = the longest
random delay (seconds), attribute 4 ``communication_window`` = when the
answers may go (empty: at any time).  With windows, the delay starts at the
current window's start (now, when inside one) or at the next window's, and
is drawn within the window's remaining span, so an answer never leaves
outside it: one held past its window's close (its meter busy with another
request, a late event loop) is moved to the next window with a new delay
(spec notes 9, step 4).  Window bounds are date-times read against the meter's Clock;
a bound with wildcards is a pattern (every day at 02:00, Sundays, the last
day of the month), and a window runs from an occurrence of its start to
the next occurrence of its end.  A meter without the Push setup answers at
once.

Delays run on the transport's clock (the in-process network's virtual clock
in simulations); the answer is ciphered when it is sent, not when it was
built, so a meter's invocation counters go out in order.  Each meter keeps
at most ``max_per_meter`` answers waiting; a further one drops the oldest.
"""

from __future__ import annotations

import asyncio
import calendar
import collections
import datetime as _dt
import logging
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..cosem import Clock, PushSetup
from ..cosem.groups import RESPONSE_WINDOW_OBIS
from ..transport.clock import Clock as TransportClock
from ..transport.clock import TimerHandle
from ..types import LAST_DAY, SECOND_LAST_DAY, DateTime, Obis
from .meter import Meter

__all__ = ["DelayedAnswers", "Pending", "Slot", "response_delay", "response_slot", "DEFAULT_MAX_DELAYED"]

log = logging.getLogger(__name__)

#: answers a meter keeps waiting at most (the oldest goes first)
DEFAULT_MAX_DELAYED = 4

_WINDOW_OBIS = Obis(RESPONSE_WINDOW_OBIS)
_CLOCK_OBIS = Obis("0.0.1.0.0.255")
_UTC = _dt.timezone.utc


def _window_setup(meter: Meter) -> PushSetup | None:
    for device in meter.logical_devices.values():
        found = device.find(PushSetup.class_id, _WINDOW_OBIS)
        if isinstance(found, PushSetup):
            return found
    return None


def _meter_now(meter: Meter) -> _dt.datetime:
    for device in meter.logical_devices.values():
        clock = device.find(Clock.class_id, _CLOCK_OBIS)
        if isinstance(clock, Clock):
            return clock.utc()
    return _dt.datetime.now(_UTC)


#: how far ahead a window pattern is looked for (a yearly window included)
_HORIZON_DAYS = 400


def _stamp(octets: bytes) -> DateTime:
    return bytes.__new__(DateTime, bytes(octets))


def _on_day(stamp: DateTime, day: _dt.date) -> _dt.datetime | None:
    """The moment (UTC) the window bound ``stamp`` names on ``day``, or None
    when its date fields exclude that day.  DESIGN: a field not specified
    matches any value (time fields: 0); the fields must all match (a
    day-of-week with a day of month: that day when it is that weekday);
    last / second-last day of the month are honoured, the DST month
    patterns never match."""
    if stamp.year is not None and stamp.year != day.year:
        return None
    month = stamp.month
    if month is not None and month != day.month:
        return None
    last = calendar.monthrange(day.year, day.month)[1]
    wanted = {LAST_DAY: last, SECOND_LAST_DAY: last - 1}.get(stamp.day, stamp.day) if stamp.day is not None else None
    if wanted is not None and wanted != day.day:
        return None
    if stamp.day_of_week is not None and stamp.day_of_week != day.isoweekday():
        return None
    moment = _dt.datetime(day.year, day.month, day.day, stamp.hour or 0, stamp.minute or 0, stamp.second or 0)
    deviation = stamp.deviation
    if deviation is None:  # DESIGN: a bound with no deviation is UTC
        return moment.replace(tzinfo=_UTC)
    return moment.replace(tzinfo=_dt.timezone(_dt.timedelta(minutes=-deviation)))


def _next_after(stamp: DateTime, after: _dt.datetime) -> _dt.datetime | None:
    """The first moment ``stamp`` names after ``after`` (within the horizon)."""
    day = after.astimezone(_UTC).date() - _dt.timedelta(days=1)  # a bound with a deviation
    for offset in range(_HORIZON_DAYS + 2):
        moment = _on_day(stamp, day + _dt.timedelta(days=offset))
        if moment is not None and moment > after:
            return moment
    return None


def _window_at(start: DateTime, end: DateTime, now: _dt.datetime) -> tuple[_dt.datetime, _dt.datetime] | None:
    """The window (start, end) of these bounds that holds ``now``, else the
    next one; None when none begins within the horizon.  A window runs from
    an occurrence of ``start`` to the first occurrence of ``end`` after it."""
    first = now.astimezone(_UTC).date() - _dt.timedelta(days=2)  # a window open since before today
    for offset in range(_HORIZON_DAYS + 3):
        begin = _on_day(start, first + _dt.timedelta(days=offset))
        if begin is None:
            continue
        close = _next_after(end, begin)
        if close is None:
            return None
        if close > now:
            return begin, close
    return None


@dataclass(frozen=True)
class Slot:
    """When an answer leaves: ``delay`` seconds from now, and ``closes``
    seconds from now the window it lies in closes: a communication window
    of the meter's calendar (``calendar``: a later one may follow), or the
    request's own window, the randomisation interval from its arrival
    (nothing follows it); infinite for an answer due at once."""

    delay: float
    closes: float = math.inf
    calendar: bool = False


def response_delay(meter: Meter, rng: random.Random) -> float | None:
    """Seconds from now until the meter's answer leaves: uniform over the
    allowed span (see the module text); None when no window lies ahead."""
    slot = response_slot(meter, rng)
    return None if slot is None else slot.delay


def response_slot(meter: Meter, rng: random.Random) -> Slot | None:
    """The delay :func:`response_delay` draws, with its window's close."""
    setup = _window_setup(meter)
    if setup is None:
        return Slot(0.0)
    max_delay = float(int(setup.randomisation_start_interval))
    windows = list(setup.communication_window)
    if not windows:
        return Slot(rng.random() * max_delay, max_delay if max_delay > 0 else math.inf)
    now = _meter_now(meter)
    upcoming: list[tuple[float, float]] = []
    for window in windows:
        found = _window_at(_stamp(bytes(window[0])), _stamp(bytes(window[1])), now)
        if found is None:
            continue
        begin = max(found[0], now)
        upcoming.append(((begin - now).total_seconds(), (found[1] - begin).total_seconds()))
    if not upcoming:
        return None
    offset, span = min(upcoming)
    return Slot(offset + rng.random() * min(max_delay, span), offset + span, calendar=True)


@dataclass(eq=False)
class Pending:
    """One answer waiting: what to send, for which meter, when."""

    meter_index: int
    meter: Meter
    due: float
    #: sends the answer (ciphers it then); False: not sent (moved to a later window)
    send: Callable[[], Awaitable[bool | None]]
    handle: TimerHandle | None = field(default=None, repr=False)


class DelayedAnswers:
    """The answers waiting to go, per meter, on ``clock``; ``on_drop(pending)``
    is told of each answer a full queue pushes out."""

    def __init__(
        self,
        clock: Callable[[], TransportClock],
        *,
        max_per_meter: int = DEFAULT_MAX_DELAYED,
        on_drop: Callable[[Pending], object] = lambda pending: None,
        on_sent: Callable[[Pending], object] = lambda pending: None,
    ) -> None:
        if max_per_meter < 1:
            raise ValueError("max_per_meter is at least 1")
        self._clock = clock
        self.max_per_meter = int(max_per_meter)
        self._on_drop = on_drop
        self._on_sent = on_sent
        self._queues: dict[int, collections.deque[Pending]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def __len__(self) -> int:
        """Answers waiting for their time (not those being sent)."""
        return sum(len(q) for q in self._queues.values())

    def waiting(self, meter_index: int) -> int:
        return len(self._queues.get(meter_index, ()))

    def schedule(
        self, meter_index: int, meter: Meter, delay: float, send: Callable[[], Awaitable[bool | None]]
    ) -> Pending:
        clock = self._clock()
        pending = Pending(meter_index, meter, clock.time() + max(0.0, delay), send)
        queue = self._queues.setdefault(meter_index, collections.deque())
        if self._closed:
            return pending
        while len(queue) >= self.max_per_meter:
            oldest = queue.popleft()
            if oldest.handle is not None:
                oldest.handle.cancel()
            self._on_drop(oldest)
        queue.append(pending)
        pending.handle = clock.call_later(max(0.0, delay), self._fire, pending)
        return pending

    def _fire(self, pending: Pending) -> None:
        queue = self._queues.get(pending.meter_index)
        if queue is None or pending not in queue:
            return  # dropped meanwhile
        queue.remove(pending)
        if not queue:
            del self._queues[pending.meter_index]
        task = asyncio.get_running_loop().create_task(self._send(pending))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, pending: Pending) -> None:
        try:
            sent = await pending.send()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a delayed answer of meter %s failed", pending.meter.system_title.hex())
            return
        if sent is not False:
            self._on_sent(pending)

    def forget(self, meter_index: int) -> None:
        """Drop the answers of a meter that is no longer served (not counted)."""
        for pending in self._queues.pop(meter_index, ()):
            if pending.handle is not None:
                pending.handle.cancel()

    async def close(self) -> None:
        """Cancel every waiting answer and every send under way; awaits them."""
        self._closed = True
        for index in list(self._queues):
            self.forget(index)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
