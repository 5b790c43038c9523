// Package promtest runs a real Prometheus server (Debian's package, which `make prometheus`
// installs) for tests: scrape configurations in, PromQL answers out.
package promtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Binary is Debian's Prometheus.
const Binary = "/usr/bin/prometheus"

// Server is a running Prometheus.
type Server struct {
	// URL is its address, http://127.0.0.1:PORT.
	URL string
	API promv1.API
	cmd *exec.Cmd
	log *os.File
}

// Start runs Prometheus with the scrape configurations (YAML, the items of scrape_configs),
// scraping every interval, until the test ends.
func Start(t testing.TB, interval time.Duration, scrapeConfigs string) *Server {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Fatalf("%s not found: `make test` installs Debian's prometheus package (make prometheus): %v", Binary, err)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: %s\n  evaluation_interval: %s\nscrape_configs:\n%s", interval, interval, indent(scrapeConfigs, "  "))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	log, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Binary, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &Server{URL: "http://" + addr, cmd: cmd, log: log}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if err := <-exited; err != nil && !strings.Contains(err.Error(), "killed") {
			t.Logf("prometheus exited: %v", err)
		}
		_ = log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("prometheus log:\n%s", tail(string(b), 40))
		}
	})
	c, err := api.NewClient(api.Config{Address: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	s.API = promv1.NewAPI(c)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/-/ready") //nolint:gosec,noctx // the test's own loopback Prometheus
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case err := <-exited:
			exited <- err
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("prometheus exited (%v):\n%s", err, tail(string(b), 40))
		default:
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("prometheus not ready after 60s:\n%s", tail(string(b), 40))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Query evaluates an instant PromQL query now and returns the vector it yields (an error for
// another type).
func (s *Server) Query(ctx context.Context, q string) (model.Vector, error) {
	v, _, _, err := s.API.Query(ctx, q, time.Now())
	if err != nil {
		return nil, err
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("%s returned %s, want a vector", q, v.Type())
	}
	return vec, nil
}

// Targets returns the scrape URL and health of every active target.
func (s *Server) Targets(ctx context.Context) (map[string]string, error) {
	r, err := s.API.Targets(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, a := range r.Active {
		out[a.ScrapeURL] = string(a.Health) + " " + a.LastError
	}
	return out, nil
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Panel is a panel of the Grafana board, with its queries.
type Panel struct {
	Title   string
	Targets []struct{ Expr string }
}

// BoardPanels reads the top-level panels of the Grafana board (dashboards/<file> under root).
func BoardPanels(t *testing.T, root, file string) []Panel {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "dashboards", file))
	if err != nil {
		t.Fatal(err)
	}
	var board struct{ Panels []Panel }
	if err := json.Unmarshal(raw, &board); err != nil {
		t.Fatal(err)
	}
	return board.Panels
}
