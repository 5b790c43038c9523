package evictor

import (
	"context"
	"fmt"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tinorodney/rebalancer/pkg/placement"
)

// SchedulerLeases maps every scheduler of the engine that follows steers (the Rebalancer's
// profiles of --scheduler-config) to its leader Lease, given as NAMESPACE/NAME; lease "" checks
// none.
func SchedulerLeases(engine *placement.Engine, lease string) (map[string]types.NamespacedName, error) {
	if lease == "" {
		return nil, nil
	}
	ns, name, ok := strings.Cut(lease, "/")
	if !ok || ns == "" || name == "" {
		return nil, fmt.Errorf("--scheduler-lease %q: want NAMESPACE/NAME", lease)
	}
	out := map[string]types.NamespacedName{}
	for _, s := range engine.Schedulers() {
		if engine.Steers(s) {
			out[s] = types.NamespacedName{Namespace: ns, Name: name}
		}
	}
	return out, nil
}

// schedulersDown reads the leader Lease of each scheduler in r.SchedulerLeases and returns those
// no replica leads, with why: a pod one of them places is not evicted, since its replacement would
// stay Pending (reason SchedulerUnavailable). A Lease that cannot be read counts as down: the
// evictor fails closed.
//
//	leading = holderIdentity set and now <= renewTime + leaseDurationSeconds
func (r *Reconciler) schedulersDown(ctx context.Context, now time.Time) map[string]string {
	if len(r.SchedulerLeases) == 0 {
		return nil
	}
	out := map[string]string{}
	for sched, key := range r.SchedulerLeases {
		if why := leaseDown(ctx, r, key, now); why != "" {
			out[sched] = why
		}
	}
	return out
}

// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get

func leaseDown(ctx context.Context, r *Reconciler, key types.NamespacedName, now time.Time) string {
	var l coordinationv1.Lease
	switch err := r.APIReader.Get(ctx, key, &l); {
	case apierrors.IsNotFound(err):
		return fmt.Sprintf("its leader Lease %s does not exist", key)
	case err != nil:
		return fmt.Sprintf("reading its leader Lease %s: %v", key, err)
	}
	s := &l.Spec
	if s.HolderIdentity == nil || *s.HolderIdentity == "" || s.RenewTime == nil {
		return fmt.Sprintf("its leader Lease %s has no holder", key)
	}
	d := 15 * time.Second
	if s.LeaseDurationSeconds != nil {
		d = time.Duration(*s.LeaseDurationSeconds) * time.Second
	}
	if expiry := s.RenewTime.Add(d); now.After(expiry) {
		return fmt.Sprintf("its leader Lease %s was last renewed at %s by %s and expired %s ago", key,
			s.RenewTime.UTC().Format(time.RFC3339), *s.HolderIdentity, now.Sub(expiry).Round(time.Second))
	}
	return ""
}
