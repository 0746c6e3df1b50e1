//! Schedule arithmetic the solver uses: how a vehicle moves from one stop to the next, when it takes its breaks,
//! and why a sequence is infeasible. The checker (`check.rs`) verifies the result with code of its own.

use crate::model::{Problem, Vehicle};

/// The constraint that blocks a stop or a sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// No vehicle has the skills the stop needs (or the vehicle it is locked to lacks them).
    Skill,
    /// The load exceeds what the vehicle can carry.
    Capacity,
    /// Service cannot begin inside any of the stop's windows.
    TimeWindow,
    /// The route cannot end (or a stop cannot be served) before the vehicle's shift ends.
    Shift,
    /// A required break cannot begin inside its window.
    Break,
    /// A pickup and its delivery cannot be served by one vehicle, pickup first.
    Pairing,
}

impl Reason {
    pub const ALL: [Reason; 6] = [
        Reason::Skill,
        Reason::Capacity,
        Reason::TimeWindow,
        Reason::Shift,
        Reason::Break,
        Reason::Pairing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Skill => "skill",
            Reason::Capacity => "capacity",
            Reason::TimeWindow => "time-window",
            Reason::Shift => "shift",
            Reason::Break => "break",
            Reason::Pairing => "pairing",
        }
    }
}

/// Where a vehicle stands: ready to leave at `time`, with breaks `0..brk` taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct State {
    pub time: f64,
    pub brk: usize,
}

/// The moments of one step, for the plan's schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Moments {
    pub arrival: f64,
    pub start: f64,
}

/// Receives each break as it is taken: index, start, and whether before travelling (else after arriving).
pub(crate) trait BreakLog {
    fn taken(&mut self, index: usize, start: f64, before_travel: bool);
}

/// For the solver, which needs no record.
pub(crate) struct NoLog;

impl BreakLog for NoLog {
    #[inline]
    fn taken(&mut self, _: usize, _: f64, _: bool) {}
}

impl BreakLog for Vec<(usize, f64, bool)> {
    fn taken(&mut self, index: usize, start: f64, before_travel: bool) {
        self.push((index, start, before_travel));
    }
}

#[inline]
pub(crate) fn travel(p: &Problem, from: Option<usize>, to: Option<usize>, departure: f64) -> f64 {
    match (from, to) {
        (Some(a), Some(b)) => p.travel.time(a, b, departure),
        _ => 0.0,
    }
}

/// Leaves `from` in state `st` and travels to `to`, taking the breaks whose windows open on the way.
/// Returns the state on arrival (time = arrival after any break taken there) and the raw arrival.
#[inline]
fn travel_with_breaks(
    p: &Problem,
    veh: &Vehicle,
    from: Option<usize>,
    to: Option<usize>,
    st: State,
    log: &mut impl BreakLog,
) -> Result<(State, f64), Reason> {
    let breaks = &veh.breaks;
    let mut t = st.time;
    let mut nb = st.brk;
    let arrival = loop {
        // Breaks whose window is already open are taken here, before leaving.
        while let Some(b) = breaks.get(nb) {
            if b.window.open > t {
                break;
            }
            if t > b.window.close {
                return Err(Reason::Break);
            }
            log.taken(nb, t, true);
            t += b.duration;
            nb += 1;
        }
        let arr = t + travel(p, from, to, t);
        match breaks.get(nb) {
            // The window opens on the way but would close before arrival: wait here and take it first.
            Some(b) if b.window.open < arr && arr > b.window.close => t = b.window.open,
            _ => break arr,
        }
    };
    let mut eff = arrival;
    // Breaks whose window opened on the way are taken on arrival.
    while let Some(b) = breaks.get(nb) {
        if b.window.open >= eff {
            break;
        }
        if eff > b.window.close {
            return Err(Reason::Break);
        }
        log.taken(nb, eff, false);
        eff += b.duration;
        nb += 1;
    }
    Ok((State { time: eff, brk: nb }, arrival))
}

/// Moves from `from` (state `st`) to serve `stop`; the returned state is ready to leave the stop.
#[inline]
pub(crate) fn step(
    p: &Problem,
    veh: &Vehicle,
    from: Option<usize>,
    st: State,
    stop: usize,
    log: &mut impl BreakLog,
) -> Result<(State, Moments), Reason> {
    let s = &p.stops[stop];
    let (mut at, arrival) = travel_with_breaks(p, veh, from, Some(s.location), st, log)?;
    let start = if s.windows.is_empty() {
        at.time
    } else {
        let k = s.windows.partition_point(|w| w.close < at.time);
        let Some(w) = s.windows.get(k) else {
            return Err(Reason::TimeWindow);
        };
        w.open.max(at.time)
    };
    if start > veh.shift.close {
        return Err(Reason::Shift);
    }
    // A break that fits in the wait before service costs nothing: take it there.
    while let Some(b) = veh.breaks.get(at.brk) {
        let bs = at.time.max(b.window.open);
        if bs > b.window.close || bs + b.duration > start {
            break;
        }
        log.taken(at.brk, bs, false);
        at.time = bs + b.duration;
        at.brk += 1;
    }
    Ok((
        State {
            time: start + s.service,
            brk: at.brk,
        },
        Moments { arrival, start },
    ))
}

/// Ends the route from `from` (state `st`): returns the arrival at the end (before any break there) and the end time.
#[inline]
pub(crate) fn finish(
    p: &Problem,
    veh: &Vehicle,
    from: Option<usize>,
    st: State,
    log: &mut impl BreakLog,
) -> Result<(f64, f64), Reason> {
    let (at, arrival) = travel_with_breaks(p, veh, from, veh.end, st, log)?;
    if at.time > veh.shift.close {
        return Err(Reason::Shift);
    }
    Ok((arrival, at.time))
}

/// The state at the start of a route.
pub(crate) fn start_state(veh: &Vehicle) -> State {
    State {
        time: veh.shift.open,
        brk: 0,
    }
}
