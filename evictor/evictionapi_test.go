package evictor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/metrics"
	tu "github.com/tinorodney/rebalancer/pkg/testutil"
)

type fakeEvicter struct {
	err error
	got *policyv1.Eviction
}

func (f *fakeEvicter) Evict(_ context.Context, _ *corev1.Pod, e *policyv1.Eviction) error {
	f.got = e
	return f.err
}

func TestLiveClassifiesEvictionAnswers(t *testing.T) {
	podsGR := schema.GroupResource{Resource: "pods"}
	tooMany := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 7)
	multi := apierrors.NewInternalError(errors.New("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."))
	cases := []struct {
		name       string
		err        error
		want       Outcome
		code       string
		retryAfter time.Duration
	}{
		{"accepted", nil, Evicted, "201", 0},
		{"PDB refuses with Retry-After", tooMany, Refused, "429", 7 * time.Second},
		{"several PDBs", multi, Skipped, "500", 0},
		{"gone", apierrors.NewNotFound(podsGR, "p"), Gone, "404", 0},
		{"replaced (UID precondition)", apierrors.NewConflict(podsGR, "p", errors.New("uid mismatch")), Gone, "409", 0},
		{"other server error", apierrors.NewServiceUnavailable("down"), Failed, "503", 0},
		{"other internal error", apierrors.NewInternalError(errors.New("etcd timeout")), Failed, "500", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := metrics.NewEvictor()
			ev := &fakeEvicter{err: tc.err}
			pod := tu.Pod("p").Obj()
			res := Live{Evicter: ev, Metrics: m}.Execute(context.Background(), pod, planner.Move{})
			if res.Outcome != tc.want || res.RetryAfter != tc.retryAfter {
				t.Errorf("outcome %v retryAfter %v, want %v %v (%s)", res.Outcome, res.RetryAfter, tc.want, tc.retryAfter, res)
			}
			if got := testutil.ToFloat64(m.EvictionResponses.WithLabelValues(tc.code)); got != 1 {
				t.Errorf("responses{code=%s} = %v, want 1", tc.code, got)
			}
			if ev.got == nil || ev.got.DeleteOptions == nil || ev.got.DeleteOptions.Preconditions == nil || *ev.got.DeleteOptions.Preconditions.UID != pod.UID {
				t.Errorf("eviction %+v does not carry the pod's UID as a precondition", ev.got)
			}
		})
	}
}

// TestDryRunCannotEvict: the dry-run executor has no field that could reach the API server.
func TestDryRunCannotEvict(t *testing.T) {
	m := metrics.NewEvictor()
	res := DryRun{Metrics: m}.Execute(context.Background(), tu.Pod("p").Obj(), planner.Move{})
	if res.Outcome != WouldEvict || testutil.ToFloat64(m.DryRunEvictions) != 1 {
		t.Errorf("outcome %v, counter %v", res.Outcome, testutil.ToFloat64(m.DryRunEvictions))
	}
}
