package chart

import (
	"os"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// fence is one fenced code block of a Markdown file.
type fence struct {
	lang, body string
	line       int
}

func fences(t *testing.T, path string) []fence {
	t.Helper()
	var out []fence
	var cur *fence
	for i, l := range strings.Split(string(mustRead(t, path)), "\n") {
		switch {
		case cur == nil && strings.HasPrefix(l, "```"):
			cur = &fence{lang: strings.TrimPrefix(l, "```"), line: i + 1}
		case cur != nil && l == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.body += l + "\n"
		}
	}
	if cur != nil {
		t.Fatalf("%s: code block opened at line %d is not closed", path, cur.line)
	}
	return out
}

// TestInstallDocs keeps docs/install.md honest: every values snippet passes the chart's schema
// and renders, every helm install or upgrade command renders with its flags, and every file,
// CRD, Deployment and ClusterRole its kubectl commands name exists.
func TestInstallDocs(t *testing.T) {
	doc := repoPath("docs", "install.md")
	var topKeys map[string]any
	if err := yaml.Unmarshal(mustRead(t, repoPath("charts", "rebalancer", "values.yaml")), &topKeys); err != nil {
		t.Fatal(err)
	}
	// Everything the chart can render, to look up the names the commands use.
	all := render(t, releaseNamespace, "metrics: {secure: true}")
	crds := map[string]bool{}
	entries, err := os.ReadDir(repoPath("manifests", "crds"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		var crd unstructured.Unstructured
		if err := yaml.Unmarshal(mustRead(t, repoPath("manifests", "crds", e.Name())), &crd.Object); err != nil {
			t.Fatal(err)
		}
		crds[crd.GetName()] = true
	}

	var checked int
	for _, f := range fences(t, doc) {
		switch f.lang {
		case "yaml":
			var snippet map[string]any
			if err := yaml.Unmarshal([]byte(f.body), &snippet); err != nil {
				t.Errorf("line %d: yaml block does not parse: %v", f.line, err)
				continue
			}
			for k := range snippet {
				if _, ok := topKeys[k]; !ok {
					t.Errorf("line %d: yaml block sets %q, which is not a value of the chart", f.line, k)
				}
			}
			if _, stderr, err := runHelm(t, renderArgs(t, releaseNamespace, f.body)...); err != nil {
				t.Errorf("line %d: the values snippet does not render: %v\n%s", f.line, err, stderr)
			}
			checked++
		case "sh":
			for _, cmd := range strings.Split(strings.TrimSpace(f.body), "\n") {
				checked += checkDocCommand(t, f.line, strings.Fields(cmd), all, crds)
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d snippets of docs/install.md checked; did the format change?", checked)
	}
}

// checkDocCommand checks one shell command of the docs and says how many checks it made.
func checkDocCommand(t *testing.T, line int, words []string, objs []*unstructured.Unstructured, crds map[string]bool) int {
	t.Helper()
	if len(words) < 2 {
		return 0
	}
	n := 0
	exists := func(path string) {
		if _, err := os.Stat(repoPath(path)); err != nil {
			t.Errorf("line %d: %s names %s, which does not exist", line, words[0], path)
		}
		n++
	}
	flag := func(name string) (string, bool) {
		for i, w := range words {
			if v, ok := strings.CutPrefix(w, name+"="); ok {
				return v, true
			}
			if w == name && i+1 < len(words) {
				return words[i+1], true
			}
		}
		return "", false
	}
	switch words[0] {
	case "helm":
		if words[1] != "upgrade" {
			return 0
		}
		// helm upgrade [--install] RELEASE CHART [flags]: render the same release and values.
		i := slices.IndexFunc(words, func(w string) bool { return strings.HasPrefix(w, "charts/") })
		if i < 0 || words[i-1] != releaseName {
			t.Errorf("line %d: %v installs no release %s of charts/rebalancer", line, words, releaseName)
			return 1
		}
		args := []string{"template", releaseName, chartDir()}
		for j := i + 1; j < len(words); j++ {
			switch words[j] {
			case "--namespace", "--set":
				args = append(args, words[j], words[j+1])
				j++
			case "--create-namespace", "--reuse-values":
			default:
				t.Errorf("line %d: flag %s of %v is not checked here", line, words[j], words)
			}
		}
		if _, stderr, err := runHelm(t, args...); err != nil {
			t.Errorf("line %d: %v does not render: %v\n%s", line, words, err, stderr)
		}
		return 1
	case "kubectl":
		if f, ok := flag("-f"); ok && !strings.Contains(f, "://") {
			exists(f)
		}
		for _, w := range words {
			if name, ok := strings.CutPrefix(w, "crd/"); ok {
				if !crds[name] {
					t.Errorf("line %d: no CRD %s", line, name)
				}
				n++
			}
			if name, ok := strings.CutPrefix(w, "deploy/"); ok {
				if find(objs, "Deployment", name) == nil {
					t.Errorf("line %d: the chart has no Deployment %s", line, name)
				}
				n++
			}
		}
		if role, ok := flag("--clusterrole"); ok {
			if find(objs, "ClusterRole", role) == nil {
				t.Errorf("line %d: the chart has no ClusterRole %s", line, role)
			}
			n++
		}
	case "docker":
		if f, ok := flag("-f"); ok {
			exists(f)
		}
	case "ci/run-job.sh":
		exists(words[0])
		exists(words[1])
	}
	return n
}
