package chart

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tinorodney/rebalancer/test/controlplane"
)

// goBuildLine is a `go build` command line of the Makefile's cross target or of a Dockerfile.
var goBuildLine = regexp.MustCompile(`^(?:RUN )?CGO_ENABLED=0 GOOS=(\S+) GOARCH=(\S+) go build (.+) -o (\S+) (\./cmd/\S+)$`)

type goBuild struct {
	goos, goarch, flags, out, pkg string
}

func parseGoBuild(line string) (goBuild, bool) {
	m := goBuildLine.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil {
		return goBuild{}, false
	}
	return goBuild{goos: m[1], goarch: m[2], flags: m[3], out: m[4], pkg: m[5]}, true
}

// crossBuilds are the commands `make cross` runs, printed by `make -n` (nothing is built).
func crossBuilds(t *testing.T) []goBuild {
	t.Helper()
	// The Dockerfiles' build arguments in place of the Makefile's values.
	cmd := exec.Command("make", "--no-print-directory", "-n", "cross", "VERSION=$${VERSION}", "REVISION=$${REVISION}")
	cmd.Dir = controlplane.RepoRoot()
	cmd.Env = append(os.Environ(), "MAKEFLAGS=", "MAKELEVEL=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n cross: %v\n%s", err, out)
	}
	var builds []goBuild
	for _, line := range strings.Split(string(out), "\n") {
		if b, ok := parseGoBuild(line); ok {
			builds = append(builds, b)
		}
	}
	return builds
}

// TestCrossBuild: `make cross` builds both binaries, statically, for linux/amd64 and linux/arm64.
func TestCrossBuild(t *testing.T) {
	var got []string
	for _, b := range crossBuilds(t) {
		got = append(got, b.goos+"/"+b.goarch+" "+b.pkg)
	}
	want := []string{"linux/amd64 ./cmd/evictor", "linux/amd64 ./cmd/scheduler", "linux/arm64 ./cmd/evictor", "linux/arm64 ./cmd/scheduler"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("make cross builds (-want,+got):\n%s", diff)
	}
}

// TestDockerfiles: each Dockerfile cross-compiles on the build platform with the Makefile's go
// build flags, copies every package its binary is built from, and runs the static binary as
// 65532 on distroless.
func TestDockerfiles(t *testing.T) {
	builds := crossBuilds(t)
	goMinor := goModMinor(t)
	for _, bin := range []string{"evictor", "scheduler"} {
		t.Run(bin, func(t *testing.T) {
			lines := dockerfileLines(t, repoPath("Dockerfile."+bin))
			var froms, copies []string
			var build *goBuild
			for _, l := range lines {
				switch {
				case strings.HasPrefix(l, "FROM "):
					froms = append(froms, l)
				case strings.HasPrefix(l, "COPY ") && !strings.HasPrefix(l, "COPY --from"):
					copies = append(copies, strings.Fields(l)[1])
				case strings.Contains(l, "go build"):
					b, ok := parseGoBuild(l)
					if !ok {
						t.Fatalf("go build line not in the Makefile's form: %s", l)
					}
					build = &b
				}
			}
			wantFroms := []string{"FROM --platform=$BUILDPLATFORM golang:" + goMinor + " AS build", "FROM gcr.io/distroless/static:nonroot"}
			if diff := cmp.Diff(wantFroms, froms); diff != "" {
				t.Errorf("stages (-want,+got):\n%s", diff)
			}
			for _, want := range []string{"ARG TARGETOS", "ARG TARGETARCH", "COPY --from=build /out/" + bin + " /" + bin,
				"USER 65532:65532", `ENTRYPOINT ["/` + bin + `"]`} {
				if !slices.Contains(lines, want) {
					t.Errorf("no %q", want)
				}
			}
			if build == nil {
				t.Fatal("no go build")
			}
			want := goBuild{goos: "${TARGETOS}", goarch: "${TARGETARCH}", out: "/out/" + bin, pkg: "./cmd/" + bin}
			for _, b := range builds {
				if b.pkg == want.pkg {
					want.flags = b.flags
				}
			}
			if diff := cmp.Diff(want, *build, cmp.AllowUnexported(goBuild{})); diff != "" {
				t.Errorf("go build (-make cross,+Dockerfile):\n%s", diff)
			}
			for _, dir := range moduleDeps(t, "./cmd/"+bin) {
				if !slices.ContainsFunc(copies, func(c string) bool { return strings.HasPrefix(dir+"/", strings.TrimSuffix(c, "/")+"/") }) {
					t.Errorf("%s needs %s, which no COPY brings into the build (COPY %v)", bin, dir, copies)
				}
			}
		})
	}
}

// dockerfileLines are the instructions of a Dockerfile, continuation lines joined, comments dropped.
func dockerfileLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\") + " ")
			continue
		}
		cur.WriteString(l)
		lines = append(lines, strings.Join(strings.Fields(cur.String()), " "))
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// goModMinor is the Go version of go.mod as major.minor (the golang image tag).
func goModMinor(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mustRead(t, repoPath("go.mod")))
	if m == nil {
		t.Fatal("no go directive in go.mod")
	}
	return string(m[1])
}

// moduleDeps are the repository directories (relative) of the module's packages pkg is built from.
func moduleDeps(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}", pkg)
	cmd.Dir = controlplane.RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	var dirs []string
	for _, d := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(controlplane.RepoRoot(), d)
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, filepath.ToSlash(rel))
	}
	if len(dirs) == 0 {
		t.Fatalf("go list found no package of the module behind %s", pkg)
	}
	return dirs
}
