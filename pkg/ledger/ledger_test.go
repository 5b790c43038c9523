package ledger_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/ledger"
)

var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

// The boundary rule, the same for counting and trimming: an entry counts while now - t < window.
func TestBoundaries(t *testing.T) {
	tests := []struct {
		name       string
		age        time.Duration
		wantCounts bool
	}{
		{name: "just now", age: 0, wantCounts: true},
		{name: "a nanosecond short of an hour", age: time.Hour - time.Nanosecond, wantCounts: true},
		{name: "exactly one hour old", age: time.Hour, wantCounts: false},
		{name: "older", age: 90 * time.Minute, wantCounts: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := []v1alpha1.Disruption{{Time: ago(tc.age), Namespace: "shop", Pod: "p", Stateful: true}}
			u := ledger.Used(l, now)
			want := 0
			if tc.wantCounts {
				want = 1
			}
			if u.Total != want || u.Stateful != want || u.ByNamespace["shop"] != want {
				t.Errorf("Used = %+v, want %d everywhere", u, want)
			}
			if got := len(ledger.Trim(l, now, ledger.Window)); got != want {
				t.Errorf("Trim kept %d entries, want %d: an entry is kept exactly as long as it counts", got, want)
			}
			slo := &v1alpha1.WorkloadSLO{Spec: v1alpha1.WorkloadSLOSpec{MaxDisruptionsPerHour: ptr.To[int32](1)}, Status: v1alpha1.WorkloadSLOStatus{Ledger: l}}
			if got := ledger.SLORemaining(slo, now); got != 1-want {
				t.Errorf("SLORemaining = %d, want %d", got, 1-want)
			}
		})
	}
}

func TestRetention(t *testing.T) {
	tests := []struct {
		backoff time.Duration
		want    time.Duration
	}{
		{0, time.Hour}, {30 * time.Minute, time.Hour}, {2 * time.Hour, 2 * time.Hour},
	}
	for _, tc := range tests {
		if got := ledger.Retention(tc.backoff); got != tc.want {
			t.Errorf("Retention(%s) = %s, want %s", tc.backoff, got, tc.want)
		}
	}
}

func TestAppendAndRemove(t *testing.T) {
	entry := func(pod string, age time.Duration) v1alpha1.Disruption {
		return v1alpha1.Disruption{Time: ago(age), Namespace: "shop", Pod: pod}
	}
	l := []v1alpha1.Disruption{entry("old", time.Hour), entry("a", 30*time.Minute)}
	b := entry("b", 0)
	l = ledger.Append(l, b, now, ledger.Window)
	if diff := cmp.Diff([]v1alpha1.Disruption{entry("a", 30*time.Minute), b}, l); diff != "" {
		t.Errorf("after Append (-want,+got): the hour-old entry is trimmed, b appended\n%s", diff)
	}
	l = ledger.Remove(l, b, now, ledger.Window)
	if diff := cmp.Diff([]v1alpha1.Disruption{entry("a", 30*time.Minute)}, l); diff != "" {
		t.Errorf("after Remove (-want,+got)\n%s", diff)
	}
	// Bounded: the oldest go first.
	var full []v1alpha1.Disruption
	for i := range ledger.MaxEntries {
		full = append(full, entry("p", time.Duration(ledger.MaxEntries-i)*time.Second))
	}
	full = ledger.Append(full, b, now, ledger.Window)
	if len(full) != ledger.MaxEntries || full[len(full)-1].Pod != "b" || !full[0].Time.Equal(ptr.To(ago(time.Duration(ledger.MaxEntries-1)*time.Second))) {
		t.Errorf("a full ledger keeps the newest %d entries: %d, last %s", ledger.MaxEntries, len(full), full[len(full)-1].Pod)
	}
}

// The one rule for optional durations: unset is the default, a set zero is zero.
func TestDuration(t *testing.T) {
	tests := []struct {
		name string
		d    *metav1.Duration
		want time.Duration
	}{
		{"unset", nil, v1alpha1.DefaultPodBackoff},
		{"podBackoff: 0 is no backoff", &metav1.Duration{}, 0},
		{"set", &metav1.Duration{Duration: time.Minute}, time.Minute},
	}
	for _, tc := range tests {
		if got := v1alpha1.Duration(tc.d, v1alpha1.DefaultPodBackoff); got != tc.want {
			t.Errorf("%s: Duration = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// An entry read back from the API (times to the second) never looks older than its eviction.
func TestEntrySurvivesTheRoundTrip(t *testing.T) {
	evicted := now.Add(700 * time.Millisecond)
	e := ledger.Entry(evicted, "shop", "p", "n1", "ReplicaSet/web", false)
	raw, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var back v1alpha1.Disruption
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Time.Time.Before(evicted) {
		t.Fatalf("read back at %s, before the eviction at %s", back.Time.Time, evicted)
	}
	// A second short of an hour after the eviction the entry still counts.
	if ledger.Used([]v1alpha1.Disruption{back}, evicted.Add(time.Hour-time.Millisecond)).Total != 1 {
		t.Errorf("the entry stopped counting before an hour had passed since the eviction")
	}
}

func TestSLORemaining(t *testing.T) {
	slo := func(max *int32, agos ...time.Duration) *v1alpha1.WorkloadSLO {
		s := &v1alpha1.WorkloadSLO{Spec: v1alpha1.WorkloadSLOSpec{MaxDisruptionsPerHour: max}}
		for _, a := range agos {
			s.Status.Ledger = append(s.Status.Ledger, v1alpha1.Disruption{Time: metav1.NewTime(now.Add(-a))})
		}
		return s
	}
	for _, tc := range []struct {
		name string
		slo  *v1alpha1.WorkloadSLO
		want int
	}{
		{"default budget, unused", slo(nil), v1alpha1.DefaultSLOMaxDisruptionsPerHour},
		{"one of three used, one expired", slo(ptr.To[int32](3), 30*time.Minute, 61*time.Minute), 2},
		{"overspent shows zero", slo(ptr.To[int32](1), time.Minute, 2*time.Minute), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ledger.SLORemaining(tc.slo, now); got != tc.want {
				t.Errorf("SLORemaining = %d, want %d", got, tc.want)
			}
		})
	}
}
