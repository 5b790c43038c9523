// Package windows decides when a RebalancePolicy may evict: its disruption windows, each a cron
// schedule read in a time zone that opens a window of a fixed duration.
//
// A window that opens at time a covers [a, a+duration). Whether one is open at now is answered
// without walking back in time: the first opening strictly after now-duration is the only one
// that can cover now, and it does when it is not after now.
package windows

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // named zones resolve in images without /usr/share/zoneinfo

	"github.com/robfig/cron/v3"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// parser reads the five standard fields and the descriptors; @every is not accepted (its
// openings depend on when it is read, not on the clock).
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Horizon is how far At follows overlapping windows to find when they close.
const Horizon = 8 * 24 * time.Hour

// Window is one parsed disruption window.
type Window struct {
	schedule cron.Schedule
	duration time.Duration
	location *time.Location
}

// Schedule is a policy's windows. The zero Schedule (no windows) is always open.
type Schedule struct {
	windows []Window
}

// State is whether the policy may evict at a time, and when that changes.
type State struct {
	// Open: a window is open (always, for a policy without windows).
	Open bool
	// ClosesAt is when the open windows close (zero when closed or always open).
	ClosesAt time.Time
	// NextOpensAt is when the next window opens after now (or after ClosesAt when open); zero
	// for a policy without windows.
	NextOpensAt time.Time
}

// Next says, for people, when the next window opens: "the next window opens at <RFC 3339 UTC>",
// or "no window opens again".
func (s State) Next() string {
	if s.NextOpensAt.IsZero() {
		return "no window opens again"
	}
	return "the next window opens at " + s.NextOpensAt.UTC().Format(time.RFC3339)
}

// Parse reads a policy's disruption windows. Errors name the field and say what is wrong.
func Parse(ws []v1alpha1.DisruptionWindow) (Schedule, error) {
	out := Schedule{windows: make([]Window, 0, len(ws))}
	for i, w := range ws {
		field := fmt.Sprintf("spec.disruptionWindows[%d]", i)
		loc := time.UTC
		if w.Timezone != "" {
			l, err := time.LoadLocation(w.Timezone)
			if err != nil {
				return Schedule{}, fmt.Errorf("%s.timezone: %q is not an IANA time zone (such as Europe/Berlin or America/New_York): %w", field, w.Timezone, err)
			}
			loc = l
		}
		if strings.HasPrefix(w.Schedule, "@every") {
			return Schedule{}, fmt.Errorf("%s.schedule: %q: @every is not a schedule of fixed times; use five cron fields or @hourly, @daily, @weekly, @monthly, @yearly", field, w.Schedule)
		}
		sched, err := parser.Parse(w.Schedule)
		if err != nil {
			return Schedule{}, fmt.Errorf("%s.schedule: %q is not a cron schedule of five fields (minute hour day-of-month month day-of-week) or a descriptor such as @daily: %w", field, w.Schedule, err)
		}
		if spec, ok := sched.(*cron.SpecSchedule); ok {
			spec.Location = loc
		}
		if w.Duration.Duration < time.Minute {
			return Schedule{}, fmt.Errorf("%s.duration: %s is shorter than 1m", field, w.Duration.Duration)
		}
		// A schedule that never fires (such as 30 February) opens no window: say so rather than
		// hold every move back forever without a word.
		if sched.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
			return Schedule{}, fmt.Errorf("%s.schedule: %q never opens a window", field, w.Schedule)
		}
		out.windows = append(out.windows, Window{schedule: sched, duration: w.Duration.Duration, location: loc})
	}
	return out, nil
}

// Always reports whether the schedule has no windows: the policy may always evict.
func (s Schedule) Always() bool { return len(s.windows) == 0 }

// At says whether a window is open at now, when the open windows close and when the next opens.
// Overlapping and back-to-back windows count as one: ClosesAt is when none is open any more.
func (s Schedule) At(now time.Time) State {
	if s.Always() {
		return State{Open: true}
	}
	var st State
	closes, open := s.coverEnd(now)
	if open {
		// Follow windows that open before (or as) the current ones close, up to horizon: windows
		// that never close (back to back) report a closing time past it.
		for horizon := now.Add(Horizon); closes.Before(horizon); {
			next, more := s.coverEnd(closes)
			if !more || !next.After(closes) {
				break
			}
			closes = next
		}
		st.Open, st.ClosesAt = true, closes
		st.NextOpensAt = s.nextOpening(closes)
		return st
	}
	st.NextOpensAt = s.nextOpening(now)
	return st
}

// coverEnd returns the latest end of the windows open at t, and whether any is.
func (s Schedule) coverEnd(t time.Time) (time.Time, bool) {
	var end time.Time
	open := false
	for _, w := range s.windows {
		a := w.schedule.Next(t.Add(-w.duration))
		if a.IsZero() || a.After(t) {
			continue
		}
		if e := a.Add(w.duration); e.After(t) && e.After(end) {
			end, open = e, true
		}
	}
	return end, open
}

// nextOpening is the first opening of any window strictly after t (zero if none ever opens).
func (s Schedule) nextOpening(t time.Time) time.Time {
	var first time.Time
	for _, w := range s.windows {
		if a := w.schedule.Next(t); !a.IsZero() && (first.IsZero() || a.Before(first)) {
			first = a
		}
	}
	return first
}
