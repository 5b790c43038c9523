package evictor

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// LeaderElectionID is the name of the evictor's leader-election Lease.
const LeaderElectionID = "rebalancer-evictor.rebalancer.atarnet.org"

// LeaderLock is the evictor's leader-election lock (a Lease). Its holder identity is the pod's
// name, an underscore and a UUID, so that a standby can find the leader's pod (LeaseLeader).
func LeaderLock(cfg *rest.Config, lease types.NamespacedName, pod string, renewDeadline time.Duration) (resourcelock.Interface, error) {
	if pod == "" || strings.Contains(pod, "_") {
		return nil, fmt.Errorf("leader election needs the pod's name (POD_NAME), got %q", pod)
	}
	return resourcelock.NewFromKubeconfig(resourcelock.LeasesResourceLock, lease.Namespace, lease.Name,
		resourcelock.ResourceLockConfig{Identity: pod + "_" + string(uuid.NewUUID())}, rest.CopyConfig(cfg), renewDeadline)
}

// LeaseLeader finds the replica that leads: itself once elected, otherwise the pod the Lease's
// holder names, reached on its container port PortName. The dashboard's history and plan live
// in the leader's memory; a standby's dashboard asks the leader (dashboard.FollowLeader).
type LeaseLeader struct {
	Reader client.Reader
	// Lease is the leader-election Lease; PodNamespace the namespace of the evictor's pods.
	Lease        types.NamespacedName
	PodNamespace string
	// Elected is closed once this replica leads.
	Elected <-chan struct{}
	// PortName is the evictor pods' container port of the metrics server; Scheme http or https.
	PortName, Scheme string
}

// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get

// Leader returns the base URL of the leader's metrics server and its pod's name, or self when
// this replica leads.
func (l *LeaseLeader) Leader(ctx context.Context) (base *url.URL, pod string, self bool, err error) {
	select {
	case <-l.Elected:
		return nil, "", true, nil
	default:
	}
	var lease coordinationv1.Lease
	if err := l.Reader.Get(ctx, l.Lease, &lease); err != nil {
		return nil, "", false, fmt.Errorf("reading the leader Lease %s: %w", l.Lease, err)
	}
	holder := ""
	if lease.Spec.HolderIdentity != nil {
		holder = *lease.Spec.HolderIdentity
	}
	pod, _, ok := strings.Cut(holder, "_")
	if !ok || pod == "" {
		return nil, "", false, fmt.Errorf("the leader Lease %s names no leader pod (holder %q)", l.Lease, holder)
	}
	var p corev1.Pod
	if err := l.Reader.Get(ctx, types.NamespacedName{Namespace: l.PodNamespace, Name: pod}, &p); err != nil {
		return nil, pod, false, fmt.Errorf("reading the leader's pod: %w", err)
	}
	if p.Status.PodIP == "" {
		return nil, pod, false, fmt.Errorf("the leader's pod %s has no IP yet", pod)
	}
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == l.PortName {
				u := &url.URL{Scheme: l.Scheme, Host: net.JoinHostPort(p.Status.PodIP, strconv.Itoa(int(cp.ContainerPort)))}
				return u, pod, false, nil
			}
		}
	}
	return nil, pod, false, fmt.Errorf("the leader's pod %s has no container port %q", pod, l.PortName)
}
