package memlimit

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func TestSet(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	for _, tc := range []struct {
		name     string
		files    map[string]string
		env      string
		want     int64
		wantErr  bool
		runtimes int64 // the runtime's limit afterwards; -1: unchanged
	}{
		{name: "cgroup v2 limit", files: map[string]string{"memory.max": "536870912\n"}, want: 483183820, runtimes: 483183820},
		{name: "cgroup v2 without limit", files: map[string]string{"memory.max": "max\n"}, runtimes: -1},
		{name: "cgroup v1 limit", files: map[string]string{"memory/memory.limit_in_bytes": "1073741824\n"}, want: 966367641, runtimes: 966367641},
		{name: "cgroup v1 without limit", files: map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}, runtimes: -1},
		{name: "no cgroup files", runtimes: -1},
		{name: "GOMEMLIMIT set wins", files: map[string]string{"memory.max": "536870912\n"}, env: "300MiB", runtimes: -1},
		{name: "garbage", files: map[string]string{"memory.max": "lots\n"}, wantErr: true, runtimes: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for f, v := range tc.files {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, f), []byte(v), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("GOMEMLIMIT", tc.env)
			const marker = int64(1) << 40
			debug.SetMemoryLimit(marker)
			got, err := Set(root)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("Set = %d, %v; want %d, error %v", got, err, tc.want, tc.wantErr)
			}
			now := debug.SetMemoryLimit(-1)
			want := tc.runtimes
			if want == -1 {
				want = marker
			}
			if now != want {
				t.Errorf("runtime memory limit %d, want %d", now, want)
			}
		})
	}
}

func TestSetGCPercent(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	for _, tc := range []struct {
		name    string
		gogc    string
		wantSet bool
		want    int
	}{
		{name: "GOGC unset: the given target", wantSet: true, want: EvictorGCPercent},
		{name: "GOGC set: left alone", gogc: "200", want: 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			t.Setenv("GOGC", tc.gogc)
			if tc.gogc == "" {
				os.Unsetenv("GOGC")
			}
			if got := SetGCPercent(EvictorGCPercent); got != tc.wantSet {
				t.Errorf("SetGCPercent returned %v, want %v", got, tc.wantSet)
			}
			if got := debug.SetGCPercent(100); got != tc.want {
				t.Errorf("GC percent %d, want %d", got, tc.want)
			}
		})
	}
}
