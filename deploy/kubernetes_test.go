// Package deploy holds no code: its tests check the deployment artifacts
// beside them (Dockerfile, systemd unit, Kubernetes manifests), which cannot
// be built or applied in CI. They parse every file, check the fields a
// working deployment needs, and check that the files agree with each other
// and with Sluice's real behaviour: the ConfigMap's config passes the same
// validation as `sluice config check`, the probes reach the listeners that
// serve /healthz and /readyz, the preStop sleep and the grace period cover
// server.shutdown_delay and shutdown_grace.
package deploy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/sluice-gw/sluice/internal/config"
)

// closeBudget is how long `sluice serve` may take after draining, closing
// what it opened (cmd/sluice/serve.go): the admin listener (5s), the
// request-log pipeline (10s), tracing (10s) and the limiter's spend flush
// (5s), one after the other.
const closeBudget = 30 * time.Second

const k8sDir = "kubernetes"

// manifest is one YAML document of deploy/kubernetes: its header, the file it
// came from and its raw bytes, decoded again into a kind's own type on demand.
type manifest struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	file string
	raw  []byte
}

// The parts of each kind that the tests read; fields they do not check are
// left out, so these are views, not schemas.
type (
	selector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	envVar struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name     string `yaml:"name"`
				Key      string `yaml:"key"`
				Optional *bool  `yaml:"optional"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	}
	probe struct {
		HTTPGet *struct {
			Path string `yaml:"path"`
			Port any    `yaml:"port"`
		} `yaml:"httpGet"`
	}
	securityContext struct {
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		RunAsUser                *int  `yaml:"runAsUser"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
		SeccompProfile struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	}
	container struct {
		Name  string   `yaml:"name"`
		Image string   `yaml:"image"`
		Args  []string `yaml:"args"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		Env       []envVar `yaml:"env"`
		Resources struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		ReadinessProbe *probe `yaml:"readinessProbe"`
		LivenessProbe  *probe `yaml:"livenessProbe"`
		StartupProbe   *probe `yaml:"startupProbe"`
		Lifecycle      struct {
			PreStop *struct {
				Sleep *struct {
					Seconds int `yaml:"seconds"`
				} `yaml:"sleep"`
			} `yaml:"preStop"`
		} `yaml:"lifecycle"`
		SecurityContext securityContext `yaml:"securityContext"`
		VolumeMounts    []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
			ReadOnly  bool   `yaml:"readOnly"`
		} `yaml:"volumeMounts"`
	}
	volume struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name  string `yaml:"name"`
			Items []struct {
				Key  string `yaml:"key"`
				Path string `yaml:"path"`
			} `yaml:"items"`
		} `yaml:"configMap"`
		EmptyDir *struct {
			SizeLimit string `yaml:"sizeLimit"`
		} `yaml:"emptyDir"`
	}
	deployment struct {
		Spec struct {
			Replicas *int     `yaml:"replicas"`
			Selector selector `yaml:"selector"`
			Template struct {
				Metadata struct {
					Labels map[string]string `yaml:"labels"`
				} `yaml:"metadata"`
				Spec struct {
					TerminationGracePeriodSeconds *int            `yaml:"terminationGracePeriodSeconds"`
					SecurityContext               securityContext `yaml:"securityContext"`
					Containers                    []container     `yaml:"containers"`
					Volumes                       []volume        `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	service struct {
		Spec struct {
			Selector map[string]string `yaml:"selector"`
			Ports    []struct {
				Name       string `yaml:"name"`
				Port       int    `yaml:"port"`
				TargetPort any    `yaml:"targetPort"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	pdb struct {
		Spec struct {
			MinAvailable   any      `yaml:"minAvailable"`
			MaxUnavailable any      `yaml:"maxUnavailable"`
			Selector       selector `yaml:"selector"`
		} `yaml:"spec"`
	}
	hpa struct {
		Spec struct {
			ScaleTargetRef struct {
				APIVersion string `yaml:"apiVersion"`
				Kind       string `yaml:"kind"`
				Name       string `yaml:"name"`
			} `yaml:"scaleTargetRef"`
			MinReplicas int `yaml:"minReplicas"`
			MaxReplicas int `yaml:"maxReplicas"`
			Metrics     []struct {
				Type     string `yaml:"type"`
				Resource *struct {
					Name   string `yaml:"name"`
					Target struct {
						Type               string `yaml:"type"`
						AverageUtilization int    `yaml:"averageUtilization"`
					} `yaml:"target"`
				} `yaml:"resource"`
			} `yaml:"metrics"`
		} `yaml:"spec"`
	}
	configMap struct {
		Data map[string]string `yaml:"data"`
	}
	secret struct {
		StringData map[string]string `yaml:"stringData"`
	}
	kustomization struct {
		Resources []string `yaml:"resources"`
	}
)

// apiVersions are the kinds deploy/kubernetes must hold, with the API
// version each must use.
var apiVersions = map[string]string{
	"ConfigMap":               "v1",
	"Secret":                  "v1",
	"Service":                 "v1",
	"Deployment":              "apps/v1",
	"PodDisruptionBudget":     "policy/v1",
	"HorizontalPodAutoscaler": "autoscaling/v2",
	"Kustomization":           "kustomize.config.k8s.io/v1beta1",
}

// readManifests parses every YAML document of every file in dir.
func readManifests(t *testing.T, dir string) []manifest {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", dir, err)
	}
	var out []manifest
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for i := 0; ; i++ {
			var doc map[string]any
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: document %d: %v", f, i, err)
			}
			if doc == nil {
				continue // an empty document between "---" lines
			}
			raw, err := yaml.Marshal(doc)
			if err != nil {
				t.Fatalf("%s: document %d: %v", f, i, err)
			}
			m := manifest{file: filepath.Base(f), raw: raw}
			if err := yaml.Unmarshal(raw, &m); err != nil {
				t.Fatalf("%s: document %d: %v", f, i, err)
			}
			out = append(out, m)
		}
	}
	return out
}

// the returns the only manifest of kind, decoded into v.
func the(t *testing.T, ms []manifest, kind string, v any) manifest {
	t.Helper()
	var found []manifest
	for _, m := range ms {
		if m.Kind == kind {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one %s in deploy/kubernetes, found %d", kind, len(found))
	}
	if err := yaml.Unmarshal(found[0].raw, v); err != nil {
		t.Fatalf("%s: %v", found[0].file, err)
	}
	return found[0]
}

func TestManifestsWellFormed(t *testing.T) {
	ms := readManifests(t, k8sDir)
	seen := map[string]bool{}
	for _, m := range ms {
		want, known := apiVersions[m.Kind]
		switch {
		case m.Kind == "":
			t.Errorf("%s: a document without kind", m.file)
		case !known:
			t.Errorf("%s: kind %s is not one these tests check; add it to apiVersions and test it", m.file, m.Kind)
		case m.APIVersion != want:
			t.Errorf("%s: %s has apiVersion %q, want %q", m.file, m.Kind, m.APIVersion, want)
		}
		if m.Kind != "Kustomization" && m.Metadata.Name == "" {
			t.Errorf("%s: %s without metadata.name", m.file, m.Kind)
		}
		seen[m.Kind] = true
	}
	for kind := range apiVersions {
		if !seen[kind] {
			t.Errorf("deploy/kubernetes has no %s", kind)
		}
	}

	// kubectl apply -k applies every manifest but the example Secret.
	var k kustomization
	the(t, ms, "Kustomization", &k)
	files, _ := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	for _, f := range files {
		base := filepath.Base(f)
		listed := slices.Contains(k.Resources, base)
		switch {
		case base == "kustomization.yaml":
		case strings.Contains(base, ".example."):
			if listed {
				t.Errorf("kustomization.yaml lists %s: an example of placeholders must never be applied", base)
			}
		case !listed:
			t.Errorf("kustomization.yaml does not list %s", base)
		}
	}
	for _, r := range k.Resources {
		if _, err := os.Stat(filepath.Join(k8sDir, r)); err != nil {
			t.Errorf("kustomization.yaml lists %s: %v", r, err)
		}
	}
}

// bundle is the parsed manifests a deployment consists of, with the config
// the ConfigMap holds validated in the environment the Deployment gives it.
type bundle struct {
	dep     deployment
	depName string
	c       container
	cfg     *config.Config
	cfgPath string // --config in the container's args
}

func loadBundle(t *testing.T) bundle {
	t.Helper()
	ms := readManifests(t, k8sDir)
	var b bundle
	b.depName = the(t, ms, "Deployment", &b.dep).Metadata.Name
	cs := b.dep.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("the Deployment has %d containers, want 1", len(cs))
	}
	b.c = cs[0]
	i := slices.Index(b.c.Args, "--config")
	if len(b.c.Args) == 0 || b.c.Args[0] != "serve" || i < 0 || i+1 >= len(b.c.Args) {
		t.Fatalf("container args %q: want serve --config FILE", b.c.Args)
	}
	b.cfgPath = b.c.Args[i+1]

	// The config file: the ConfigMap volume mounted where --config points.
	var cm configMap
	cmName := the(t, ms, "ConfigMap", &cm).Metadata.Name
	key := ""
	for _, vm := range b.c.VolumeMounts {
		if vm.MountPath != filepath.Dir(b.cfgPath) {
			continue
		}
		for _, v := range b.dep.Spec.Template.Spec.Volumes {
			if v.Name != vm.Name || v.ConfigMap == nil || v.ConfigMap.Name != cmName {
				continue
			}
			key = filepath.Base(b.cfgPath) // without items, each key is a file
			for _, it := range v.ConfigMap.Items {
				if it.Path == filepath.Base(b.cfgPath) {
					key = it.Key
				}
			}
		}
	}
	data, ok := cm.Data[key]
	if key == "" || !ok {
		t.Fatalf("--config %s is not a key of ConfigMap %q mounted at %s", b.cfgPath, cmName, filepath.Dir(b.cfgPath))
	}

	// Its environment: literal values and the example Secret's placeholders.
	var sec secret
	secName := the(t, ms, "Secret", &sec).Metadata.Name
	env := map[string]string{}
	for _, e := range b.c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v, ok := sec.StringData[ref.Key]
			if ref.Name != secName || !ok {
				t.Errorf("env %s takes key %q of Secret %q, which secret.example.yaml (Secret %q) does not have", e.Name, ref.Key, ref.Name, secName)
			}
			if ref.Optional != nil && *ref.Optional {
				t.Errorf("env %s: an optional secret would start Sluice with that setting off", e.Name)
			}
			env[e.Name] = v
		}
	}
	for _, v := range configVars(data) {
		if _, ok := env[v]; !ok {
			t.Errorf("the config uses ${%s}, which the Deployment does not set", v)
		}
	}
	cfg, err := config.Parse(b.cfgPath, []byte(data), func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	if err != nil {
		t.Fatalf("the ConfigMap's config fails `sluice config check`:\n%v", err)
	}
	b.cfg = cfg
	return b
}

// configVars lists the variables a config expands without a default.
func configVars(data string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`).FindAllStringSubmatch(data, -1) {
		if m[2] == "" && !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

func listenPort(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	n, err2 := strconv.Atoi(p)
	if err != nil || err2 != nil {
		t.Fatalf("listen address %q", addr)
	}
	return n
}

func TestDeployment(t *testing.T) {
	b := loadBundle(t)
	spec := b.dep.Spec.Template.Spec
	labels := b.dep.Spec.Template.Metadata.Labels
	if !subset(b.dep.Spec.Selector.MatchLabels, labels) {
		t.Errorf("selector %v does not match the pod labels %v", b.dep.Spec.Selector.MatchLabels, labels)
	}
	if b.dep.Spec.Replicas != nil {
		t.Errorf("spec.replicas is set: the HPA owns the replica count, and every apply would reset it")
	}
	if img := b.c.Image; !strings.Contains(img, "@sha256:") &&
		(!strings.Contains(img[strings.LastIndex(img, "/")+1:], ":") || strings.HasSuffix(img, ":latest")) {
		t.Errorf("image %q: pin a tag or a digest, never latest", img)
	}

	// Ports and probes: /healthz and /readyz are served by the client
	// listener and, when admin.listen is set, by the admin listener.
	ports := map[string]int{}
	for _, p := range b.c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if got, want := ports["http"], listenPort(t, b.cfg.Server.Listen); got != want {
		t.Errorf("container port http is %d, server.listen is on %d", got, want)
	}
	served := map[int]bool{listenPort(t, b.cfg.Server.Listen): true}
	if b.cfg.Admin.Listen != "" {
		if got, want := ports["admin"], listenPort(t, b.cfg.Admin.Listen); got != want {
			t.Errorf("container port admin is %d, admin.listen is on %d", got, want)
		}
		served[listenPort(t, b.cfg.Admin.Listen)] = true
	}
	for _, p := range []struct {
		name, path string
		pr         *probe
	}{
		{"readinessProbe", "/readyz", b.c.ReadinessProbe},
		{"livenessProbe", "/healthz", b.c.LivenessProbe},
	} {
		if p.pr == nil || p.pr.HTTPGet == nil {
			t.Errorf("no %s with httpGet", p.name)
			continue
		}
		if p.pr.HTTPGet.Path != p.path {
			t.Errorf("%s on %q, want %s", p.name, p.pr.HTTPGet.Path, p.path)
		}
		port := portNumber(p.pr.HTTPGet.Port, ports)
		if !served[port] {
			t.Errorf("%s on port %v, where no Sluice listener serves %s", p.name, p.pr.HTTPGet.Port, p.path)
		}
	}

	// Shutdown: preStop covers the endpoints' removal, shutdown_delay the
	// load balancers polling /readyz, shutdown_grace the streams, and the
	// kubelet waits for all of it before SIGKILL.
	delay, grace := b.cfg.Server.ShutdownDelay.D(), b.cfg.Server.ShutdownGrace.D()
	pre := b.c.Lifecycle.PreStop
	if pre == nil || pre.Sleep == nil {
		t.Errorf("no preStop sleep")
	} else {
		if got := time.Duration(pre.Sleep.Seconds) * time.Second; got != delay {
			t.Errorf("preStop sleeps %s, server.shutdown_delay is %s: keep them equal", got, delay)
		}
		need := time.Duration(pre.Sleep.Seconds)*time.Second + delay + grace + closeBudget
		if tg := spec.TerminationGracePeriodSeconds; tg == nil || time.Duration(*tg)*time.Second <= need {
			t.Errorf("terminationGracePeriodSeconds must exceed preStop + shutdown_delay + shutdown_grace + %s = %s", closeBudget, need)
		}
	}

	// Security: non-root, read-only root, nothing to escalate to.
	sc, psc := b.c.SecurityContext, spec.SecurityContext
	if !isTrue(sc.RunAsNonRoot) && !isTrue(psc.RunAsNonRoot) {
		t.Errorf("runAsNonRoot is not set")
	}
	if !isTrue(sc.ReadOnlyRootFilesystem) {
		t.Errorf("readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("allowPrivilegeEscalation is not false")
	}
	if !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("capabilities.drop %v does not drop ALL", sc.Capabilities.Drop)
	}
	if sc.SeccompProfile.Type != "RuntimeDefault" && psc.SeccompProfile.Type != "RuntimeDefault" {
		t.Errorf("no RuntimeDefault seccomp profile")
	}

	// Resources: the HPA's utilisation is against the CPU request; Go's
	// heap goal stays under the memory limit.
	for _, r := range []string{"cpu", "memory"} {
		if b.c.Resources.Requests[r] == "" {
			t.Errorf("no %s request", r)
		}
	}
	memLimit := quantity(t, b.c.Resources.Limits["memory"])
	if memLimit == 0 {
		t.Errorf("no memory limit")
	}
	for _, e := range b.c.Env {
		if e.Name == "GOMEMLIMIT" && quantity(t, e.Value) >= memLimit {
			t.Errorf("GOMEMLIMIT %s is not below the memory limit %s", e.Value, b.c.Resources.Limits["memory"])
		}
	}

	// data_dir is writable (the root file system is not), and its emptyDir
	// holds a full spool without the kubelet evicting the pod.
	var dataVol string
	for _, vm := range b.c.VolumeMounts {
		if filepath.Clean(vm.MountPath) == filepath.Clean(b.cfg.DataDir) && !vm.ReadOnly {
			dataVol = vm.Name
		}
	}
	if dataVol == "" {
		t.Fatalf("data_dir %s is not a writable volume mount", b.cfg.DataDir)
	}
	for _, v := range spec.Volumes {
		if v.Name == dataVol && v.EmptyDir != nil && b.cfg.Telemetry.Enabled {
			if size := quantity(t, v.EmptyDir.SizeLimit); size <= int64(b.cfg.Telemetry.SpoolMax) {
				t.Errorf("emptyDir %s sizeLimit %q is not above telemetry.spool_max %s", v.Name, v.EmptyDir.SizeLimit, b.cfg.Telemetry.SpoolMax)
			}
		}
	}
}

func TestServicePDBAndHPA(t *testing.T) {
	b := loadBundle(t)
	ms := readManifests(t, k8sDir)
	labels := b.dep.Spec.Template.Metadata.Labels
	ports := map[string]int{}
	for _, p := range b.c.Ports {
		ports[p.Name] = p.ContainerPort
	}

	var svc service
	the(t, ms, "Service", &svc)
	if len(svc.Spec.Selector) == 0 || !subset(svc.Spec.Selector, labels) {
		t.Errorf("the Service's selector %v does not select the Deployment's pods %v", svc.Spec.Selector, labels)
	}
	if len(svc.Spec.Ports) == 0 {
		t.Errorf("the Service has no ports")
	}
	for _, p := range svc.Spec.Ports {
		if portNumber(p.TargetPort, ports) != listenPort(t, b.cfg.Server.Listen) {
			t.Errorf("Service port %s targets %v, not the client listener", p.Name, p.TargetPort)
		}
	}

	var h hpa
	the(t, ms, "HorizontalPodAutoscaler", &h)
	ref := h.Spec.ScaleTargetRef
	if ref.Kind != "Deployment" || ref.Name != b.depName || ref.APIVersion != "apps/v1" {
		t.Errorf("the HPA scales %s %s/%s, not the Deployment %q", ref.APIVersion, ref.Kind, ref.Name, b.depName)
	}
	if h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas < h.Spec.MinReplicas {
		t.Errorf("HPA replicas %d..%d: want at least 2, max >= min", h.Spec.MinReplicas, h.Spec.MaxReplicas)
	}
	cpu := false
	for _, m := range h.Spec.Metrics {
		if m.Type == "Resource" && m.Resource != nil && m.Resource.Name == "cpu" &&
			m.Resource.Target.Type == "Utilization" && m.Resource.Target.AverageUtilization > 0 && m.Resource.Target.AverageUtilization <= 100 {
			cpu = true
		}
	}
	if !cpu {
		t.Errorf("the HPA has no CPU utilization target (1-100 %%)")
	}

	var p pdb
	the(t, ms, "PodDisruptionBudget", &p)
	if len(p.Spec.Selector.MatchLabels) == 0 || !subset(p.Spec.Selector.MatchLabels, labels) {
		t.Errorf("the PDB's selector %v does not select the Deployment's pods %v", p.Spec.Selector.MatchLabels, labels)
	}
	// A drain must be able to evict one pod at the HPA's minimum.
	switch {
	case p.Spec.MaxUnavailable != nil:
		if n, ok := p.Spec.MaxUnavailable.(uint64); !ok || n < 1 {
			t.Errorf("PDB maxUnavailable %v: want a count of at least 1", p.Spec.MaxUnavailable)
		}
	case p.Spec.MinAvailable != nil:
		if n, ok := p.Spec.MinAvailable.(uint64); !ok || int(n) >= h.Spec.MinReplicas {
			t.Errorf("PDB minAvailable %v blocks every drain at the HPA's %d replicas", p.Spec.MinAvailable, h.Spec.MinReplicas)
		}
	default:
		t.Errorf("the PDB sets neither minAvailable nor maxUnavailable")
	}
}

// portNumber resolves a probe's or Service's port: a number, or the name of
// a container port.
func portNumber(p any, named map[string]int) int {
	switch v := p.(type) {
	case string:
		return named[v]
	case uint64:
		return int(v)
	case int64:
		return int(v)
	case int:
		return v
	}
	return -1
}

func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func isTrue(b *bool) bool { return b != nil && *b }

// quantity parses the Kubernetes quantities these manifests use (a number
// with an optional binary or decimal suffix) and, for GOMEMLIMIT, Go's
// B/KiB/MiB/GiB suffixes; 0 for an empty string.
func quantity(t *testing.T, s string) int64 {
	t.Helper()
	if s == "" {
		return 0
	}
	for _, u := range []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
		{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30},
		{"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"B", 1},
	} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				t.Fatalf("quantity %q: %v", s, err)
			}
			return v * u.mult
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("quantity %q: %v", s, err)
	}
	return v
}
