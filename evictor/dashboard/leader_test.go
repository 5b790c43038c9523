package dashboard

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

type fixedLeader struct {
	base *url.URL
	self bool
	err  error
}

func (f fixedLeader) Leader(context.Context) (*url.URL, string, bool, error) {
	return f.base, "leader-pod", f.self, f.err
}

func TestFollowLeader(t *testing.T) {
	// The leader echoes what reached it.
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("leader " + r.URL.Path + " auth=" + r.Header.Get("Authorization") + " fwd=" + r.Header.Get(ForwardedHeader)))
	}))
	defer upstream.Close()
	base, _ := url.Parse(upstream.URL)
	local := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("local " + r.URL.Path)) })

	tests := []struct {
		name      string
		leader    fixedLeader
		fwd       Forwarding
		path      string
		forwarded bool
		wantCode  int
		wantBody  string
		wantVia   string
	}{
		{name: "the leader answers itself", leader: fixedLeader{self: true}, path: "/api/v1/plan", wantCode: 200, wantBody: "local /api/v1/plan"},
		{name: "a standby asks the leader, without the caller's credentials", leader: fixedLeader{base: base}, path: "/api/v1/plan",
			wantCode: 200, wantBody: "leader /api/v1/plan auth= fwd=1", wantVia: "leader-pod"},
		{name: "behind authentication the caller's credentials go along", leader: fixedLeader{base: base}, fwd: Forwarding{Credentials: true},
			path: "/api/v1/plan", wantCode: 200, wantBody: "leader /api/v1/plan auth=Bearer viewer fwd=1", wantVia: "leader-pod"},
		{name: "a forwarded request is never forwarded again", leader: fixedLeader{base: base}, path: "/api/v1/plan", forwarded: true,
			wantCode: 200, wantBody: "local /api/v1/plan"},
		{name: "the page is served by every replica", leader: fixedLeader{base: base}, path: "/dashboard/", wantCode: 200, wantBody: "local /dashboard/"},
		{name: "no leader found", leader: fixedLeader{err: errors.New("the leader Lease names no leader pod")}, path: "/api/v1/plan",
			wantCode: 503, wantBody: "cannot find the leader: the leader Lease names no leader pod"},
		{name: "leader unreachable", leader: fixedLeader{base: &url.URL{Scheme: "http", Host: "127.0.0.1:1"}}, path: "/api/v1/plan",
			wantCode: 503, wantBody: "cannot reach the leader leader-pod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			req.Header.Set("Authorization", "Bearer viewer")
			if tt.forwarded {
				req.Header.Set(ForwardedHeader, "1")
			}
			rec := httptest.NewRecorder()
			FollowLeader(local, tt.leader, tt.fwd).ServeHTTP(rec, req)
			if rec.Code != tt.wantCode || !strings.Contains(rec.Body.String(), tt.wantBody) || rec.Header().Get(LeaderHeader) != tt.wantVia {
				t.Errorf("got %d %q via %q, want %d containing %q via %q", rec.Code, rec.Body.String(), rec.Header().Get(LeaderHeader), tt.wantCode, tt.wantBody, tt.wantVia)
			}
		})
	}
}
