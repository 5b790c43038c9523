package dashboard

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// Leader says where the leading replica's metrics server is; self when this replica leads.
type Leader interface {
	Leader(ctx context.Context) (base *url.URL, pod string, self bool, err error)
}

// ForwardedHeader marks a request a standby forwarded: it is answered where it arrives, never
// forwarded again (two replicas that disagree on the leader cannot bounce it between them).
const ForwardedHeader = "X-Rebalancer-Forwarded"

// LeaderHeader names, on an answer a standby forwarded, the pod that answered it.
const LeaderHeader = "X-Rebalancer-Leader"

// Forwarding is how a standby reaches the leader.
type Forwarding struct {
	// Transport carries the request (nil: http.DefaultTransport).
	Transport http.RoundTripper
	// Credentials forwards the caller's Authorization header, for a leader that authenticates
	// and authorizes every caller itself (--metrics-secure). Otherwise it is dropped.
	Credentials bool
}

// FollowLeader serves the page itself and answers the API (/api/v1/) from the leader: the
// history and plan live in the leader's memory, and every replica sits behind the dashboard
// Service. A standby that cannot find or reach the leader answers 503 with why.
func FollowLeader(local http.Handler, leader Leader, fwd Forwarding) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/v1/") || r.Header.Get(ForwardedHeader) != "" {
			local.ServeHTTP(w, r)
			return
		}
		base, pod, self, err := leader.Leader(r.Context())
		switch {
		case self:
			local.ServeHTTP(w, r)
			return
		case err != nil:
			unavailable(w, "this replica is standing by and cannot find the leader: "+err.Error())
			return
		}
		proxy := &httputil.ReverseProxy{
			Transport: fwd.Transport,
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(base)
				pr.Out.Host = base.Host
				pr.Out.Header.Set(ForwardedHeader, "1")
				// A leader behind authentication checks the caller's own credentials (a viewer's
				// token, not the evictor's); otherwise none leave the standby.
				if !fwd.Credentials {
					pr.Out.Header.Del("Authorization")
				}
				pr.Out.Header.Del("Cookie")
			},
			ModifyResponse: func(resp *http.Response) error {
				resp.Header.Set(LeaderHeader, pod)
				return nil
			},
			ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
				unavailable(w, "this replica is standing by and cannot reach the leader "+pod+": "+err.Error())
			},
		}
		proxy.ServeHTTP(w, r)
	})
}

func unavailable(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "5")
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
