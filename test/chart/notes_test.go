package chart

import (
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/tinorodney/rebalancer/test/controlplane"
)

// kubeconfig writes a kubeconfig for the test API server, for helm.
func kubeconfig(t *testing.T) string {
	t.Helper()
	return kubeconfigFor(t, env)
}

// kubeconfigFor writes a kubeconfig for the API server e, for helm.
func kubeconfigFor(t *testing.T, env *controlplane.Env) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthorityData: env.Config.CAData}
	cfg.AuthInfos["test"] = &clientcmdapi.AuthInfo{ClientCertificateData: env.Config.CertData, ClientKeyData: env.Config.KeyData, Token: env.Config.BearerToken}
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "test"}
	cfg.CurrentContext = "test"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestInstallNotes runs `helm install --dry-run=server` against the real API server (which also
// validates every object) and checks what NOTES.txt tells the user.
func TestInstallNotes(t *testing.T) {
	kc := kubeconfig(t)
	tests := []struct {
		name   string
		values string
		want   []string
		absent []string
	}{
		{
			name: "defaults",
			want: []string{
				"DRY-RUN: RebalancePolicy \"default\" evicts nothing yet",
				"--set policy.dryRun=false",
				"kubectl -n notes-check port-forward svc/rebalancer-dashboard 8080:8080",
				"http://localhost:8080/dashboard",
				"https://rebalancer.atarnet.org/dashboard",
				"WARNING: the Ingress has no annotations",
				"helm test rebalancer -n notes-check",
			},
		},
		{
			name:   "evicting, secure, authenticated ingress",
			values: "policy: {dryRun: false}\nmetrics: {secure: true}\ningress: {annotations: {nginx.ingress.kubernetes.io/auth-type: basic}}",
			want:   []string{"RebalancePolicy \"default\" EVICTS pods", "rebalancer-dashboard-viewer"},
			absent: []string{"DRY-RUN", "WARNING"},
		},
	}
	createNamespace(t, "notes-check", true)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"install", releaseName, chartDir(), "--namespace", "notes-check", "--dry-run=server", "--kubeconfig", kc}
			if tc.values != "" {
				args = append(args, "--values", valuesFile(t, tc.values))
			}
			out, stderr, err := runHelm(t, args...)
			if err != nil {
				t.Fatalf("helm install --dry-run=server: %v\n%s", err, stderr)
			}
			_, notes, ok := strings.Cut(out, "\nNOTES:\n")
			if !ok {
				t.Fatalf("no NOTES in:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(notes, w) {
					t.Errorf("NOTES lack %q:\n%s", w, notes)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(notes, a) {
					t.Errorf("NOTES contain %q:\n%s", a, notes)
				}
			}
		})
	}
}
