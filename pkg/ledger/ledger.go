// Package ledger is the one place that keeps disruption ledgers and counts budgets over them.
//
// A ledger is the list of evictions in the status of a RebalancePolicy or a WorkloadSLO, oldest
// first; the evictor writes each entry before it calls the eviction API (write-ahead), so hourly
// limits survive restarts and leader changes. The planner, the executor, the status writer, the
// what-if simulator and the benchmark all append, trim and count with this package, so an entry
// counts, or has stopped counting, in all of them at once.
//
// The boundary rule: an entry counts in a window of length w ending at now while
//
//	now - entry.time < w
//
// so an entry exactly one hour old no longer counts against an hourly budget, and trimming drops
// exactly the entries that no longer count for the longest window they serve.
package ledger

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// Window is the sliding window every hourly budget counts over.
const Window = time.Hour

// MaxEntries bounds a ledger (the status field's MaxItems); the oldest entries go first.
const MaxEntries = 1000

// Unlimited is a budget's remainder when no budget applies.
const Unlimited = -1

// Counts reports whether an entry at t counts in the window of length w ending at now:
//
//	counts = now - t < w
func Counts(t, now time.Time, w time.Duration) bool { return now.Sub(t) < w }

// Retention is how long a policy's entries are kept: the hour its budgets count over, or the
// pod backoff when longer (the planner reads a workload's last eviction from the ledger).
//
//	retention = max(1h, podBackoff)
func Retention(podBackoff time.Duration) time.Duration { return max(Window, podBackoff) }

// Trim returns the entries that still count in the window of length retention ending at now, as
// a new slice.
func Trim(l []v1alpha1.Disruption, now time.Time, retention time.Duration) []v1alpha1.Disruption {
	out := make([]v1alpha1.Disruption, 0, len(l)+1)
	for _, d := range l {
		if Counts(d.Time.Time, now, retention) {
			out = append(out, d)
		}
	}
	return out
}

// Append trims the ledger at now and appends the entry, dropping the oldest entries beyond
// MaxEntries. (Not at the entry's time: it is rounded up, and trimming a second early would drop
// an entry that still counts.)
func Append(l []v1alpha1.Disruption, entry v1alpha1.Disruption, now time.Time, retention time.Duration) []v1alpha1.Disruption {
	out := append(Trim(l, now, retention), entry)
	if len(out) > MaxEntries {
		out = out[len(out)-MaxEntries:]
	}
	return out
}

// Remove trims the ledger at now and removes the entry (same namespace, pod and time): an
// eviction the API refused gives its budget back.
func Remove(l []v1alpha1.Disruption, entry v1alpha1.Disruption, now time.Time, retention time.Duration) []v1alpha1.Disruption {
	out := Trim(l, now, retention)
	for i, d := range out {
		if d.Namespace == entry.Namespace && d.Pod == entry.Pod && d.Time.Equal(&entry.Time) {
			return append(out[:i], out[i+1:]...)
		}
	}
	return out
}

// Usage is what a ledger spent in the hour ending at a time.
type Usage struct {
	// Total counts every entry, Stateful the entries of stateful pods.
	Total, Stateful int
	// ByNamespace counts entries by the evicted pod's namespace.
	ByNamespace map[string]int
}

// Used counts the entries of the hour ending at now.
func Used(l []v1alpha1.Disruption, now time.Time) Usage {
	u := Usage{ByNamespace: map[string]int{}}
	for _, d := range l {
		if !Counts(d.Time.Time, now, Window) {
			continue
		}
		u.Total++
		u.ByNamespace[d.Namespace]++
		if d.Stateful {
			u.Stateful++
		}
	}
	return u
}

// Remaining is what a budget of limit still allows after used: max(limit - used, 0).
func Remaining(limit, used int) int { return max(limit-used, 0) }

// SLOLimit is a WorkloadSLO's hourly budget, with the API's default.
func SLOLimit(s *v1alpha1.WorkloadSLO) int {
	if s.Spec.MaxDisruptionsPerHour == nil {
		return v1alpha1.DefaultSLOMaxDisruptionsPerHour
	}
	return int(*s.Spec.MaxDisruptionsPerHour)
}

// SLORemaining is what the WorkloadSLO's hourly budget still allows at now.
func SLORemaining(s *v1alpha1.WorkloadSLO, now time.Time) int {
	return Remaining(SLOLimit(s), Used(s.Status.Ledger, now).Total)
}

// Entry is the ledger entry of one eviction at now: everything a budget needs. Its time is now
// rounded up to the second: the API stores times to the second, and an entry read back must
// never look older than the eviction it records, or it would stop counting before a full hour
// has passed (an eviction at 12:00:00.7 stored as 12:00:00 would free its budget at 13:00:00).
func Entry(now time.Time, namespace, pod, node, workload string, stateful bool) v1alpha1.Disruption {
	return v1alpha1.Disruption{Time: metav1.NewTime(StoredTime(now)), Namespace: namespace, Pod: pod, Node: node, Workload: workload, Stateful: stateful}
}

// StoredTime is t rounded up to the second, as a ledger stores it.
func StoredTime(t time.Time) time.Time {
	if s := t.Truncate(time.Second); s.Before(t) {
		return s.Add(time.Second)
	}
	return t
}
