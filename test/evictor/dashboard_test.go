package evictor_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/test/controlplane"
)

// chromiumPath is Debian's chromium, which `make test` installs.
const chromiumPath = "/usr/bin/chromium"

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// TestDashboardInChromium runs the evictor with its dashboard on the metrics port, against the
// real API server, and opens the page in headless Chromium: the nodes, the plan and the budgets
// must show, without console errors. The screenshot is saved to test/artifacts/dashboard.png.
func TestDashboardInChromium(t *testing.T) {
	if _, err := exec.LookPath(chromiumPath); err != nil {
		t.Fatalf("%s not found: `make test` installs Debian's chromium package (make chromium)", chromiumPath)
	}
	s := newScenario(t)
	hot := s.node("hot", 3800, 14)
	s.node("cold", 300, 1)
	s.node("mid", 1500, 6)
	for _, name := range []string{"web-a", "web-b", "web-c"} {
		s.pod(name, hot, "web", 600, 2048, optIn, replicaSet("web"))
	}
	for _, name := range []string{"api-a", "api-b"} {
		s.pod(name, hot, "api", 500, 1024, optIn, replicaSet("api"))
	}
	s.pod("api-c", s.ns+"-mid", "api", 100, 128, optIn, replicaSet("api"))
	create(t, &v1alpha1.WorkloadSLO{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "api"},
		Spec: v1alpha1.WorkloadSLOSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}, MaxDisruptionsPerHour: ptr.To[int32](1)}})
	create(t, &v1alpha1.NodeClass{ObjectMeta: metav1.ObjectMeta{Name: s.ns + "-servers"},
		Spec: v1alpha1.NodeClassSpec{NodeSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"test": s.label}}, PreferredProfiles: []v1alpha1.WorkloadProfile{v1alpha1.ProfileBalanced}}})

	addr := freeLoopbackAddr(t)
	startEvictor(t, s.src, options{metricsAddr: addr})
	start := time.Now()
	s.createPolicy(func(p *v1alpha1.RebalancePolicySpec) {
		p.NamespaceBudgets = []v1alpha1.NamespaceBudget{{Namespace: s.ns, MaxDisruptionsPerHour: 5}}
	})
	s.waitCycle(start)
	s.eventually("an eviction", func() bool { return s.evictedCount("web-a", "web-b", "web-c", "api-a", "api-b") > 0 })
	base := "http://" + addr

	// The same port serves the JSON API, once the cycle is recorded.
	var body []byte
	var res *http.Response
	s.eventually("the plan on /api/v1/plan", func() bool {
		r, err := http.Get(base + "/api/v1/plan")
		if err != nil {
			return false
		}
		defer r.Body.Close()
		res, body = r, nil
		body, _ = io.ReadAll(r.Body)
		return r.StatusCode == http.StatusOK
	})
	if !strings.Contains(res.Header.Get("Content-Type"), "application/json") || !strings.Contains(string(body), `"moves"`) {
		t.Fatalf("/api/v1/plan: %s %.200s", res.Header.Get("Content-Type"), body)
	}

	profile := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-default-apps", true), chromedp.Flag("disable-extensions", true), chromedp.WindowSize(1400, 1600),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelTimeout()

	// Collect what the page writes to the console (calls, uncaught exceptions, browser log).
	var mu sync.Mutex
	var consoleErrors []string
	consoleCtx, stopConsole := context.WithCancel(ctx)
	defer stopConsole()
	messages := chromedp.Console(consoleCtx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				consoleErrors = append(consoleErrors, m.String())
				mu.Unlock()
			}
		}
	}()

	count := func(sel string) int {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+"`"+sel+"`"+`).length`))
		if err != nil {
			t.Fatalf("counting %s: %v", sel, err)
		}
		return n
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS(`.node[data-node]`)),
		chromedp.WaitVisible(chromedp.CSS(`#moves tbody tr`)),
	); err != nil {
		t.Fatalf("loading the dashboard in Chromium: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll("#slo-budgets tbody tr td").length > 1`)); err != nil {
		t.Fatalf("waiting for the budgets: %v", err)
	}
	nodeCards, moveRows, sloRows := count(`.node[data-node]`), count(`#moves tbody tr`), count(`#slo-budgets tbody tr`)
	reasons, sigmaLines := count(`#held-reasons .bar, #held-reasons .empty`), count(`#sigma-chart svg polyline`)
	modeText, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#mode`)))
	if err != nil {
		t.Fatal(err)
	}
	firstNode, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.node[data-node] .name`)))
	if err != nil {
		t.Fatal(err)
	}
	stoppedBy, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#stopped-by b`)))
	if err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := filepath.Join(controlplane.RepoRoot(), "test", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "dashboard.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))

	if nodeCards != 3 || !strings.HasPrefix(firstNode, s.ns) {
		t.Errorf("%d node cards (first %q), want the scenario's 3 nodes", nodeCards, firstNode)
	}
	if moveRows < 1 || sloRows < 1 || reasons < 1 {
		t.Errorf("moves rows %d, SLO rows %d, reasons %d: want each shown", moveRows, sloRows, reasons)
	}
	if sigmaLines != 1 {
		t.Errorf("sigma chart has %d lines, want 1", sigmaLines)
	}
	if stoppedBy == "" || stoppedBy == "-" {
		t.Errorf("the summary's \"stopped by\" is %q, want what stopped the plan (status.lastPlan.stoppedBy)", stoppedBy)
	}
	if !strings.Contains(modeText, "live") {
		t.Errorf("mode badge %q, want live", modeText)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(consoleErrors) > 0 {
		t.Errorf("console errors: %v", consoleErrors)
	}
}
