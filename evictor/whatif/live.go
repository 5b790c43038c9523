package whatif

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// Files are the files of a dump, by name: what `rebalancer dump` writes and LoadDir reads. The
// live commands read the cluster into Files and load them exactly as a dump is loaded, so a plan
// made from a dump and one made live from the same cluster cannot differ in how they read it.
type Files map[string][]byte

// source is one list the dump holds: the API path listed (as `kubectl get --raw PATH` would), the
// file it is written to, and what its absence means.
type source struct {
	file, path, what string
	// optional sources may be missing from the cluster (404): our CRDs before the Rebalancer is
	// installed, which is when a cautious operator runs the what-if.
	optional bool
}

// sources are the lists a dump holds. Listing them needs only get and list (ClusterRole
// rebalancer-whatif in manifests/whatif).
var sources = []source{
	{file: "nodes.json", path: "/api/v1/nodes", what: "nodes"},
	{file: "pods.json", path: "/api/v1/pods", what: "pods"},
	{file: "namespaces.json", path: "/api/v1/namespaces", what: "namespaces"},
	{file: "services.json", path: "/api/v1/services", what: "services"},
	{file: "poddisruptionbudgets.json", path: "/apis/policy/v1/poddisruptionbudgets", what: "poddisruptionbudgets.policy"},
	{file: "priorityclasses.json", path: "/apis/scheduling.k8s.io/v1/priorityclasses", what: "priorityclasses.scheduling.k8s.io"},
	{file: "replicasets.json", path: "/apis/apps/v1/replicasets", what: "replicasets.apps"},
	{file: "statefulsets.json", path: "/apis/apps/v1/statefulsets", what: "statefulsets.apps"},
	{file: "rebalancepolicies.json", path: "/apis/rebalancer.atarnet.org/v1alpha1/rebalancepolicies", what: "rebalancepolicies.rebalancer.atarnet.org", optional: true},
	{file: "workloadslos.json", path: "/apis/rebalancer.atarnet.org/v1alpha1/workloadslos", what: "workloadslos.rebalancer.atarnet.org", optional: true},
	{file: "nodeclasses.json", path: "/apis/rebalancer.atarnet.org/v1alpha1/nodeclasses", what: "nodeclasses.rebalancer.atarnet.org", optional: true},
	{file: "node-metrics.json", path: "/apis/metrics.k8s.io/v1beta1/nodes", what: "nodes.metrics.k8s.io"},
	{file: "pod-metrics.json", path: "/apis/metrics.k8s.io/v1beta1/pods", what: "pods.metrics.k8s.io"},
}

// DefaultChunkSize is how many objects one list request asks for (kubectl's --chunk-size default).
const DefaultChunkSize = 500

// ReadLive lists everything a dump holds from the cluster cfg points at, with get and list only,
// DefaultChunkSize objects a request. An error names the list and, when refused, the permission
// it needs.
func ReadLive(ctx context.Context, cfg *rest.Config) (Files, error) {
	return ReadLiveChunked(ctx, cfg, DefaultChunkSize)
}

// ReadLiveChunked is ReadLive with chunk objects a list request (0: one request a list): the
// API server serves a large list in pages (limit and continue) rather than building it whole.
func ReadLiveChunked(ctx context.Context, cfg *rest.Config, chunk int64) (Files, error) {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = nil
	c.NegotiatedSerializer = nil
	rc, err := rest.UnversionedRESTClientFor(withDefaults(c))
	if err != nil {
		return nil, fmt.Errorf("building a client for %s: %w", cfg.Host, err)
	}
	files := Files{}
	for _, s := range sources {
		data, err := listAll(ctx, rc, s.path, chunk)
		switch {
		case err == nil:
			files[s.file] = data
		case apierrors.IsNotFound(err) && s.optional:
			// The Rebalancer's CRDs are not installed: no policy, the API's defaults.
		case apierrors.IsForbidden(err):
			return nil, fmt.Errorf("listing %s: forbidden: the what-if needs get and list on %s (ClusterRole rebalancer-whatif in manifests/whatif)", s.what, s.what)
		case apierrors.IsNotFound(err) && (s.file == "node-metrics.json" || s.file == "pod-metrics.json"):
			return nil, fmt.Errorf("listing %s: the cluster does not serve metrics.k8s.io: install metrics-server", s.what)
		default:
			return nil, fmt.Errorf("listing %s from %s: %w", s.what, cfg.Host, err)
		}
	}
	return files, nil
}

// listAll reads the list at path in pages of chunk objects and returns it as one list, as the
// API server would have served it whole (the first page's resourceVersion; every page comes from
// the same snapshot, continue tokens guarantee it).
func listAll(ctx context.Context, rc *rest.RESTClient, path string, chunk int64) ([]byte, error) {
	if chunk <= 0 {
		return rc.Get().AbsPath(path).DoRaw(ctx)
	}
	var (
		whole map[string]json.RawMessage
		items []json.RawMessage
		next  string
	)
	for {
		req := rc.Get().AbsPath(path).Param("limit", strconv.FormatInt(chunk, 10))
		if next != "" {
			req = req.Param("continue", next)
		}
		data, err := req.DoRaw(ctx)
		if err != nil {
			return nil, err
		}
		var page struct {
			Metadata struct {
				Continue string `json:"continue"`
			} `json:"metadata"`
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(data, &page); err != nil {
			return nil, fmt.Errorf("decoding a page of %s: %w", path, err)
		}
		if whole == nil {
			if err := json.Unmarshal(data, &whole); err != nil {
				return nil, fmt.Errorf("decoding a page of %s: %w", path, err)
			}
		}
		items = append(items, page.Items...)
		if page.Metadata.Continue == "" {
			break
		}
		next = page.Metadata.Continue
	}
	if items == nil {
		items = []json.RawMessage{}
	}
	var meta map[string]any
	if err := json.Unmarshal(whole["metadata"], &meta); err == nil {
		delete(meta, "continue")
		delete(meta, "remainingItemCount")
		if b, err := json.Marshal(meta); err == nil {
			whole["metadata"] = b
		}
	}
	b, err := json.Marshal(items)
	if err != nil {
		return nil, err
	}
	whole["items"] = b
	return json.Marshal(whole)
}

func withDefaults(c *rest.Config) *rest.Config {
	// DoRaw returns the bytes as served; the serializer only negotiates the content type.
	c.NegotiatedSerializer = clientgoscheme.Codecs.WithoutConversion()
	c.ContentType, c.AcceptContentTypes = "application/json", "application/json"
	return c
}

// WriteDir writes the files into dir (created if missing). It writes nothing when dir holds
// files of a dump already, so an older dump is never mixed with a newer one.
func (f Files) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name := range f {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("%s already holds %s: dump into an empty directory", dir, name)
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	for _, name := range f.names() {
		if err := os.WriteFile(filepath.Join(dir, name), f[name], 0o600); err != nil {
			return err
		}
	}
	return nil
}

func (f Files) names() []string {
	out := make([]string, 0, len(f))
	for n := range f {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
