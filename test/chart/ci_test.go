package chart

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/tinorodney/rebalancer/test/controlplane"
)

// Values with every character sed's replacement or a YAML plain scalar could trip on.
const (
	testContextURL = "git://github.com/tinorodney/rebalancer.git#refs/heads/main#0123456789abcdef&x|y"
	testImageDest  = "docker.io/tinorodney/rebalancer-evictor:0.1.0-0123456"
)

// renderJob fills a template of ci/kubernetes with ci/run-job.sh --render, as the Jenkinsfile does.
func renderJob(t *testing.T, template, job string, kv ...string) (string, error) {
	t.Helper()
	args := append([]string{"ci/run-job.sh", "--render", "ci/kubernetes/" + template, "rebalancer-ci", job}, kv...)
	cmd := exec.Command("bash", args...)
	cmd.Dir = controlplane.RepoRoot()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestCIJobTemplates: the Kaniko and Trivy templates carry their placeholders, render to Jobs
// that decode strictly with every value in place, and the API server accepts them (server-side
// dry-run) in namespaces enforcing the Pod Security level the pipeline gives them.
func TestCIJobTemplates(t *testing.T) {
	tests := []struct {
		template     string
		placeholders []string
		kv           []string
		podSecurity  string
		wantArgs     map[string][]string // container -> args that must appear
	}{
		{
			template:     "kaniko.yaml",
			placeholders: []string{"__JOB_NAME__", "__CONTEXT_URL__", "__CONTEXT_SUBDIR__", "__DOCKERFILE__", "__IMAGE_DEST__", "__VERSION__", "__REVISION__"},
			kv: []string{"CONTEXT_URL=" + testContextURL, "CONTEXT_SUBDIR=.", "DOCKERFILE=Dockerfile.evictor", "IMAGE_DEST=" + testImageDest,
				"VERSION=0.1.0", "REVISION=0123456789abcdef0123456789abcdef01234567"},
			podSecurity: "baseline",
			wantArgs: map[string][]string{
				"build-amd64": {"--context=" + testContextURL, "--context-sub-path=.", "--dockerfile=Dockerfile.evictor", "--custom-platform=linux/amd64", "--destination=" + testImageDest + "-amd64",
					"--build-arg=VERSION=0.1.0", "--build-arg=REVISION=0123456789abcdef0123456789abcdef01234567"},
				"build-arm64": {"--context=" + testContextURL, "--context-sub-path=.", "--dockerfile=Dockerfile.evictor", "--custom-platform=linux/arm64", "--destination=" + testImageDest + "-arm64",
					"--build-arg=VERSION=0.1.0", "--build-arg=REVISION=0123456789abcdef0123456789abcdef01234567"},
				"index": {"--tag=" + testImageDest, "--manifest=" + testImageDest + "-amd64", "--manifest=" + testImageDest + "-arm64"},
			},
		},
		{
			template:     "trivy.yaml",
			placeholders: []string{"__JOB_NAME__", "__IMAGE_DEST__"},
			kv:           []string{"IMAGE_DEST=" + testImageDest},
			podSecurity:  "restricted",
			wantArgs: map[string][]string{
				"scan-amd64": {"--platform=linux/amd64", "--exit-code=1", testImageDest},
				"scan-arm64": {"--platform=linux/arm64", "--exit-code=1", testImageDest},
			},
		},
	}
	ns := "ci-check"
	createNamespace(t, ns, false)
	for _, tc := range tests {
		t.Run(tc.template, func(t *testing.T) {
			raw := string(mustRead(t, repoPath("ci", "kubernetes", tc.template)))
			for _, p := range tc.placeholders {
				if !strings.Contains(raw, p) {
					t.Errorf("%s lacks the placeholder %s", tc.template, p)
				}
			}
			out, err := renderJob(t, tc.template, "job-1", tc.kv...)
			if err != nil {
				t.Fatalf("ci/run-job.sh --render: %v\n%s", err, out)
			}
			if left := regexp.MustCompile(`__[A-Z][A-Z0-9_]*__`).FindString(out); left != "" {
				t.Errorf("placeholder %s left after substitution", left)
			}
			job := &batchv1.Job{}
			if err := yaml.UnmarshalStrict([]byte(out), job); err != nil {
				t.Fatalf("the rendered %s is not a valid Job: %v\n%s", tc.template, err, out)
			}
			if job.Name != "job-1" {
				t.Errorf("Job name %q, want job-1", job.Name)
			}
			spec := job.Spec.Template.Spec
			if spec.ServiceAccountName != "kaniko-builder" || spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
				t.Errorf("ServiceAccount %q automount %v, want kaniko-builder without a token", spec.ServiceAccountName, spec.AutomountServiceAccountToken)
			}
			if !slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Secret != nil && v.Secret.SecretName == "dockerhub-creds" }) {
				t.Error("the registry credentials do not come from the dockerhub-creds Secret")
			}
			containers := slices.Concat(spec.InitContainers, spec.Containers)
			for _, c := range containers {
				if tag := c.Image[strings.LastIndex(c.Image, ":")+1:]; !strings.Contains(c.Image, ":") || tag == "latest" || strings.Contains(tag, "/") {
					t.Errorf("container %s runs %s, want a pinned version", c.Name, c.Image)
				}
			}
			for name, want := range tc.wantArgs {
				i := slices.IndexFunc(containers, func(c corev1.Container) bool { return c.Name == name })
				if i < 0 {
					t.Errorf("no container %s", name)
					continue
				}
				for _, a := range want {
					if !slices.Contains(containers[i].Args, a) {
						t.Errorf("container %s args %q lack %q", name, containers[i].Args, a)
					}
				}
			}

			// The API server's verdict, in a namespace enforcing the template's Pod Security level.
			psNS := ns + "-" + tc.podSecurity
			createNamespace(t, psNS, false)
			setPodSecurity(t, psNS, tc.podSecurity)
			job.Namespace = psNS
			w := &warnings{}
			if err := warningClient(t, w).Create(context.Background(), job, client.DryRunAll); err != nil {
				t.Errorf("the API server refuses the rendered Job in a %s namespace: %v", tc.podSecurity, err)
			}
			if ws := w.take(); len(ws) > 0 {
				t.Errorf("the rendered Job drew warnings: %v", ws)
			}
		})
	}
	t.Run("missing value", func(t *testing.T) {
		out, err := renderJob(t, "kaniko.yaml", "job-1", "IMAGE_DEST="+testImageDest)
		if err == nil || !strings.Contains(out, "placeholders left unfilled: __CONTEXT_SUBDIR__ __CONTEXT_URL__ __DOCKERFILE__") {
			t.Errorf("rendering without every value: err %v, output:\n%s", err, out)
		}
	})
	t.Run("service account", func(t *testing.T) {
		sa := &corev1.ServiceAccount{}
		if err := yaml.UnmarshalStrict(mustRead(t, repoPath("ci", "kubernetes", "serviceaccount.yaml")), sa); err != nil {
			t.Fatal(err)
		}
		if sa.Name != "kaniko-builder" || sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
			t.Errorf("ServiceAccount %q automount %v, want kaniko-builder without a token", sa.Name, sa.AutomountServiceAccountToken)
		}
		sa.Namespace = ns
		if err := env.Client.Create(context.Background(), sa, client.DryRunAll); err != nil {
			t.Error(err)
		}
	})
}

func setPodSecurity(t *testing.T, name, level string) {
	t.Helper()
	ns := &corev1.Namespace{}
	ctx := context.Background()
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		t.Fatal(err)
	}
	ns.Labels = map[string]string{"pod-security.kubernetes.io/enforce": level, "pod-security.kubernetes.io/warn": level}
	if err := env.Client.Update(ctx, ns); err != nil {
		t.Fatal(err)
	}
}

// TestJenkinsfile: the pipeline runs the steps of issue 6 with the files of this repository, and
// installs the versions the repository pins.
func TestJenkinsfile(t *testing.T) {
	jf := string(mustRead(t, repoPath("Jenkinsfile")))
	for _, want := range []string{
		"go test ./...",
		"credentialsId: 'dockerhub-creds'",
		"create secret docker-registry dockerhub-creds",
		"ci/kubernetes/serviceaccount.yaml",
		"ci/run-job.sh ci/kubernetes/kaniko.yaml",
		"ci/run-job.sh ci/kubernetes/trivy.yaml",
		"helm upgrade --install",
		"helm test",
	} {
		if !strings.Contains(jf, want) {
			t.Errorf("the Jenkinsfile does not contain %q", want)
		}
	}
	pins := []struct{ jenkins, source, pattern string }{
		{"HELM_VERSION", "hack/tools/helm/go.mod", `(?m)^\s*helm\.sh/helm/v3 (v\S+)`},
		{"KUBECTL_VERSION", "Makefile", `(?m)^K8S_VERSION\s*:=\s*(\S+)`},
	}
	for _, p := range pins {
		want := regexp.MustCompile(p.pattern).FindStringSubmatch(string(mustRead(t, repoPath(p.source))))
		got := regexp.MustCompile(p.jenkins + `\s*=\s*'([^']+)'`).FindStringSubmatch(jf)
		if want == nil || got == nil || want[1] != got[1] {
			t.Errorf("Jenkinsfile %s = %v, %s pins %v", p.jenkins, got, p.source, want)
		}
	}
	goVersion := regexp.MustCompile(`GO_VERSION\s*=\s*'([^']+)'`).FindStringSubmatch(jf)
	if goVersion == nil || !strings.HasPrefix(goVersion[1], goModMinor(t)+".") {
		t.Errorf("Jenkinsfile GO_VERSION %v is not a release of go %s (go.mod)", goVersion, goModMinor(t))
	}
	if info, err := os.Stat(repoPath("ci", "run-job.sh")); err != nil || info.Mode()&0o111 == 0 {
		t.Errorf("ci/run-job.sh is not executable: %v", err)
	}
}
