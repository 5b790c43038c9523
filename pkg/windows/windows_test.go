package windows

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

func window(schedule, duration, tz string) v1alpha1.DisruptionWindow {
	d, err := time.ParseDuration(duration)
	if err != nil {
		panic(err)
	}
	return v1alpha1.DisruptionWindow{Schedule: schedule, Duration: metav1.Duration{Duration: d}, Timezone: tz}
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestAt(t *testing.T) {
	weekdays2am := []v1alpha1.DisruptionWindow{window("0 2 * * 1-5", "2h", "")}
	// Europe/Berlin moves from CET (UTC+1) to CEST (UTC+2) at 02:00 local on 2026-03-29 and back
	// at 03:00 local on 2026-10-25.
	berlin9am := []v1alpha1.DisruptionWindow{window("0 9 * * *", "2h", "Europe/Berlin")}
	berlin0230 := []v1alpha1.DisruptionWindow{window("30 2 * * *", "1h", "Europe/Berlin")}
	tests := []struct {
		name    string
		windows []v1alpha1.DisruptionWindow
		now     string
		want    State
	}{
		{"no windows: always open", nil, "2026-12-01T10:00:00Z", State{Open: true}},
		{"a second before the window opens", weekdays2am, "2026-12-01T01:59:59Z",
			State{NextOpensAt: utc("2026-12-01T02:00:00Z")}},
		{"a nanosecond before the window opens", weekdays2am, "2026-12-01T01:59:59.999999999Z",
			State{NextOpensAt: utc("2026-12-01T02:00:00Z")}},
		{"the window opens", weekdays2am, "2026-12-01T02:00:00Z",
			State{Open: true, ClosesAt: utc("2026-12-01T04:00:00Z"), NextOpensAt: utc("2026-12-02T02:00:00Z")}},
		{"inside the window", weekdays2am, "2026-12-01T03:59:59Z",
			State{Open: true, ClosesAt: utc("2026-12-01T04:00:00Z"), NextOpensAt: utc("2026-12-02T02:00:00Z")}},
		{"the window closes", weekdays2am, "2026-12-01T04:00:00Z",
			State{NextOpensAt: utc("2026-12-02T02:00:00Z")}},
		{"Friday's window leads to Monday's", weekdays2am, "2026-12-04T05:00:00Z",
			State{NextOpensAt: utc("2026-12-07T02:00:00Z")}},
		{"Saturday has no window", weekdays2am, "2026-12-05T02:30:00Z",
			State{NextOpensAt: utc("2026-12-07T02:00:00Z")}},
		{"Berlin before DST: 09:00 CET is 08:00 UTC", berlin9am, "2026-03-28T08:00:00Z",
			State{Open: true, ClosesAt: utc("2026-03-28T10:00:00Z"), NextOpensAt: utc("2026-03-29T07:00:00Z")}},
		{"Berlin on the DST day: 09:00 CEST is 07:00 UTC, closed a second before", berlin9am, "2026-03-29T06:59:59Z",
			State{NextOpensAt: utc("2026-03-29T07:00:00Z")}},
		{"Berlin on the DST day: open at 07:00 UTC", berlin9am, "2026-03-29T07:00:00Z",
			State{Open: true, ClosesAt: utc("2026-03-29T09:00:00Z"), NextOpensAt: utc("2026-03-30T07:00:00Z")}},
		{"Berlin on the DST day: closed at 09:00 UTC (11:00 CEST)", berlin9am, "2026-03-29T09:00:00Z",
			State{NextOpensAt: utc("2026-03-30T07:00:00Z")}},
		{"Berlin back to CET: 09:00 is 08:00 UTC again", berlin9am, "2026-10-25T07:30:00Z",
			State{NextOpensAt: utc("2026-10-25T08:00:00Z")}},
		// Times that do not exist or exist twice in the zone behave as in a Kubernetes CronJob
		// (the same parser): 02:30 on the day clocks skip 02:00-03:00 opens no window, and on
		// the day 02:00-03:00 repeats it opens at both 02:30s.
		{"Berlin: 02:30 does not exist on the spring DST day", berlin0230, "2026-03-28T12:00:00Z",
			State{NextOpensAt: utc("2026-03-30T00:30:00Z")}},
		{"Berlin: 02:30 happens twice on the autumn DST day", berlin0230, "2026-10-25T00:40:00Z",
			State{Open: true, ClosesAt: utc("2026-10-25T02:30:00Z"), NextOpensAt: utc("2026-10-26T01:30:00Z")}},
		{"overlapping windows close when the last does", []v1alpha1.DisruptionWindow{
			window("0 1 * * *", "2h", ""), window("0 2 * * *", "3h", ""),
		}, "2026-12-01T01:30:00Z",
			State{Open: true, ClosesAt: utc("2026-12-01T05:00:00Z"), NextOpensAt: utc("2026-12-02T01:00:00Z")}},
		{"back-to-back windows are one", []v1alpha1.DisruptionWindow{window("0 * * * *", "1h", "")},
			"2026-12-01T01:30:00Z", State{Open: true, ClosesAt: utc("2026-12-09T02:00:00Z"), NextOpensAt: utc("2026-12-09T03:00:00Z")}},
		{"@daily in a time zone", []v1alpha1.DisruptionWindow{window("@daily", "1h", "America/New_York")},
			"2026-12-01T05:30:00Z", State{Open: true, ClosesAt: utc("2026-12-01T06:00:00Z"), NextOpensAt: utc("2026-12-02T05:00:00Z")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.windows)
			if err != nil {
				t.Fatal(err)
			}
			got := s.At(utc(tt.now))
			if got.Open != tt.want.Open || !got.ClosesAt.Equal(tt.want.ClosesAt) || !got.NextOpensAt.Equal(tt.want.NextOpensAt) {
				t.Errorf("At(%s) = %+v, want %+v", tt.now, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		window v1alpha1.DisruptionWindow
		want   string
	}{
		{"six fields", window("0 0 2 * * *", "1h", ""), `spec.disruptionWindows[0].schedule: "0 0 2 * * *" is not a cron schedule`},
		{"hour out of range", window("0 25 * * *", "1h", ""), "spec.disruptionWindows[0].schedule"},
		{"@every is relative to when it is read", window("@every 1h", "1h", ""), "spec.disruptionWindows[0].schedule"},
		{"never fires", window("0 2 30 2 *", "1h", ""), "never opens a window"},
		{"unknown zone", window("0 2 * * *", "1h", "Mars/Olympus"), `spec.disruptionWindows[0].timezone: "Mars/Olympus" is not an IANA time zone`},
		{"too short", window("0 2 * * *", "30s", ""), "spec.disruptionWindows[0].duration: 30s is shorter than 1m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]v1alpha1.DisruptionWindow{tt.window})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
