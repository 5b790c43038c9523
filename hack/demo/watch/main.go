// Command watch prints what the evictor does, cycle by cycle, from its read-only dashboard API
// (/api/v1/plan, /api/v1/nodes, /api/v1/history): sigma, the hot and cold nodes, each planned
// eviction with its reason, and where each replacement landed. make demo runs it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
)

type plan struct {
	Time        time.Time `json:"time"`
	DryRun      bool      `json:"dryRun"`
	SigmaBefore float64   `json:"sigmaBefore"`
	SigmaAfter  float64   `json:"predictedSigmaAfter"`
	Blockers    []string  `json:"blockers"`
	Moves       []struct {
		Namespace string `json:"namespace"`
		Pod       string `json:"pod"`
		From      string `json:"from"`
		To        string `json:"predictedTo"`
		Reason    struct {
			Message string `json:"message"`
		} `json:"reason"`
		Result string `json:"result"`
	} `json:"moves"`
	HeldByReason map[string]int `json:"heldBackByReason"`
}

type nodes struct {
	Classes []struct {
		Name  string `json:"name"`
		Nodes []struct {
			Name           string  `json:"name"`
			Score          float64 `json:"score"`
			Classification string  `json:"classification"`
		} `json:"nodes"`
	} `json:"classes"`
}

type history struct {
	Evictions []struct {
		Time      time.Time `json:"time"`
		Namespace string    `json:"namespace"`
		Pod       string    `json:"pod"`
		From      string    `json:"from"`
		Outcome   string    `json:"outcome"`
		LandedOn  string    `json:"landedOn"`
		DryRun    bool      `json:"dryRun"`
	} `json:"evictions"`
}

func get(ctx context.Context, base, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func main() {
	base := flag.String("evictor", "http://127.0.0.1:8080", "Base URL of the evictor's metrics server")
	policy := flag.String("policy", "default", "RebalancePolicy to follow")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var last time.Time
	landed := map[string]bool{}
	q := "?policy=" + *policy
	for ctx.Err() == nil {
		var p plan
		var n nodes
		var h history
		if err := get(ctx, *base, "/api/v1/plan"+q, &p); err == nil && p.Time.After(last) {
			last = p.Time
			_ = get(ctx, *base, "/api/v1/nodes"+q, &n)
			printCycle(p, n)
		}
		if err := get(ctx, *base, "/api/v1/history"+q, &h); err == nil {
			for _, e := range h.Evictions {
				key := e.Namespace + "/" + e.Pod
				if e.DryRun || e.LandedOn == "" || landed[key] {
					continue
				}
				landed[key] = true
				fmt.Printf("    ↳ replacement of %s (evicted from %s) landed on %s%s\n", key, e.From, e.LandedOn, outcome(e.Outcome))
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}

func outcome(o string) string {
	if o == "" {
		return ""
	}
	return " (" + o + ")"
}

func printCycle(p plan, n nodes) {
	var hot, cold []string
	for _, c := range n.Classes {
		for _, nd := range c.Nodes {
			label := fmt.Sprintf("%s[%s] %.2f", nd.Name, c.Name, nd.Score)
			switch nd.Classification {
			case "hot":
				hot = append(hot, label)
			case "cold":
				cold = append(cold, label)
			}
		}
	}
	sort.Strings(hot)
	sort.Strings(cold)
	mode := ""
	if p.DryRun {
		mode = " (dry-run)"
	}
	fmt.Printf("\n%s cycle%s: sigma %.3f, predicted after the moves %.3f\n", p.Time.Local().Format("15:04:05"), mode, p.SigmaBefore, p.SigmaAfter)
	fmt.Printf("  hot:  %s\n  cold: %s\n", orNone(hot), orNone(cold))
	for _, b := range p.Blockers {
		fmt.Printf("  blocked: %s\n", b)
	}
	for _, m := range p.Moves {
		res := m.Result
		if res == "" {
			res = "planned"
		}
		fmt.Printf("  evict %s/%s from %s (predicted to land on %s): %s [%s]\n", m.Namespace, m.Pod, m.From, m.To, m.Reason.Message, res)
	}
	if len(p.HeldByReason) > 0 {
		var parts []string
		for r, c := range p.HeldByReason {
			if r == "NotOptedIn" {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s=%d", r, c))
		}
		sort.Strings(parts)
		if len(parts) > 0 {
			fmt.Printf("  held back: %s\n", strings.Join(parts, " "))
		}
	}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
