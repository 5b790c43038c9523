package evictor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/metrics"
)

// Outcome is what became of one planned move.
type Outcome int

const (
	// Evicted: the eviction API accepted the eviction.
	Evicted Outcome = iota
	// WouldEvict: dry-run; nothing was evicted.
	WouldEvict
	// Gone: the pod no longer exists, or was replaced (404, 409): nothing to do.
	Gone
	// Refused: a PodDisruptionBudget refused the eviction (429); back off.
	Refused
	// Skipped: the pod cannot be evicted as it is (500 for several PDBs); skip it.
	Skipped
	// Failed: any other error; back off and count it.
	Failed
)

// Result is an Outcome with details.
type Result struct {
	Outcome Outcome
	// Code is the HTTP status the eviction API answered (201 on success, 0 in dry-run).
	Code int
	// RetryAfter is the delay the API server asked for, if any.
	RetryAfter time.Duration
	Err        error
}

// Executor carries out one move. There are two: the live one evicts through the eviction API;
// the dry-run one has no client at all, so it cannot evict anything.
type Executor interface {
	Execute(ctx context.Context, pod *corev1.Pod, m planner.Move) Result
}

// DryRun reports what it would evict and counts it.
type DryRun struct {
	Metrics *metrics.Evictor
}

// Execute counts the move as a dry-run eviction.
func (d DryRun) Execute(_ context.Context, _ *corev1.Pod, _ planner.Move) Result {
	d.Metrics.DryRunEvictions.Inc()
	return Result{Outcome: WouldEvict}
}

// PodEvicter is the one client call the live executor makes: create the eviction subresource.
type PodEvicter interface {
	Evict(ctx context.Context, pod *corev1.Pod, eviction *policyv1.Eviction) error
}

// SubResourceEvicter evicts through controller-runtime's subresource client.
type SubResourceEvicter struct {
	Client client.Client
}

// Evict creates pods/<name>/eviction.
func (s SubResourceEvicter) Evict(ctx context.Context, pod *corev1.Pod, eviction *policyv1.Eviction) error {
	return s.Client.SubResource("eviction").Create(ctx, pod, eviction)
}

// Live evicts through the policy/v1 eviction subresource, with the pod's UID as a precondition
// so that a replaced pod of the same name is never evicted by mistake.
type Live struct {
	Evicter PodEvicter
	Metrics *metrics.Evictor
}

// Execute evicts the pod and classifies the answer.
func (l Live) Execute(ctx context.Context, pod *corev1.Pod, _ planner.Move) Result {
	uid := pod.UID
	ev := &policyv1.Eviction{
		ObjectMeta:    metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace},
		DeleteOptions: &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}},
	}
	err := l.Evicter.Evict(ctx, pod, ev)
	res := classify(err)
	l.Metrics.EvictionResponses.WithLabelValues(strconv.Itoa(res.Code)).Inc()
	return res
}

func classify(err error) Result {
	if err == nil {
		return Result{Outcome: Evicted, Code: http.StatusCreated}
	}
	code := 0
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		code = int(status.Status().Code)
	}
	res := Result{Code: code, Err: err}
	switch {
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		res.Outcome = Gone
	case apierrors.IsTooManyRequests(err):
		res.Outcome = Refused
		if s, ok := apierrors.SuggestsClientDelay(err); ok {
			res.RetryAfter = time.Duration(s) * time.Second
		}
	case apierrors.IsInternalError(err) && isMultiplePDBs(err):
		res.Outcome = Skipped
	default:
		res.Outcome = Failed
	}
	return res
}

// isMultiplePDBs recognises the API server's refusal to evict a pod covered by several budgets.
func isMultiplePDBs(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return false
	}
	s := status.Status()
	return s.Code == http.StatusInternalServerError && containsFold(s.Message, "more than one PodDisruptionBudget")
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

func (r Result) String() string {
	switch r.Outcome {
	case Evicted:
		return "evicted"
	case WouldEvict:
		return "would evict (dry-run)"
	case Gone:
		return fmt.Sprintf("pod gone or replaced (%d)", r.Code)
	case Refused:
		return fmt.Sprintf("refused by a PodDisruptionBudget (429), retry after %s", r.RetryAfter)
	case Skipped:
		return "skipped: more than one PodDisruptionBudget covers the pod (500)"
	default:
		return fmt.Sprintf("eviction failed (%d): %v", r.Code, r.Err)
	}
}
