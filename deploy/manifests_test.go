package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// The names every deployment file must agree on.
const (
	// relatorImage is the one image name of every relator container.
	relatorImage = "ghcr.io/relator/relator:latest"
	// pgvectorRepo is the image repository of the compose database.
	pgvectorRepo = "pgvector/pgvector"
	// defaultHTTPAddr is RELATOR_HTTP_ADDR's documented default.
	defaultHTTPAddr = ":9090"
	// defaultGrace is RELATOR_GRACE_PERIOD's documented default.
	defaultGrace = 30 * time.Second
)

// root is the module root, the directory above this package.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	return dir
}

// document is one YAML document of a file, still undecoded.
type document struct {
	file  string // relative to the module root
	index int    // 0-based position in the file
	node  *yaml.Node
}

func (d document) String() string { return fmt.Sprintf("%s#%d", d.file, d.index) }

// readDocuments parses every YAML document of a file; empty documents are
// left out.
func readDocuments(file string, data []byte) ([]document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []document
	for i := 0; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", file, i, err)
		}
		if len(n.Content) == 0 || n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null" {
			continue
		}
		docs = append(docs, document{file: file, index: i, node: &n})
	}
}

func readFile(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// ---- Kubernetes ----

type k8sMeta struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

// k8sObject is the union of the fields these tests read from the kinds
// the manifests use (Secret, Job, CronJob, Deployment, Kustomization).
type k8sObject struct {
	doc        document
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   k8sMeta           `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`       // Secret
	StringData map[string]string `yaml:"stringData"` // Secret
	Resources  []string          `yaml:"resources"`  // Kustomization
	Images     []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
	} `yaml:"images"` // Kustomization
	Spec struct {
		Replicas              *int        `yaml:"replicas"`              // Deployment
		Template              podTemplate `yaml:"template"`              // Deployment, Job
		BackoffLimit          *int        `yaml:"backoffLimit"`          // Job
		ActiveDeadlineSeconds *int64      `yaml:"activeDeadlineSeconds"` // Job
		Schedule              string      `yaml:"schedule"`              // CronJob
		TimeZone              string      `yaml:"timeZone"`
		Concurrency           string      `yaml:"concurrencyPolicy"`
		JobTemplate           struct {
			Spec jobSpec `yaml:"spec"`
		} `yaml:"jobTemplate"`
	} `yaml:"spec"`
}

func (o k8sObject) String() string { return fmt.Sprintf("%s %s (%s)", o.Kind, o.Metadata.Name, o.doc) }

type jobSpec struct {
	BackoffLimit          *int        `yaml:"backoffLimit"`
	ActiveDeadlineSeconds *int64      `yaml:"activeDeadlineSeconds"`
	Template              podTemplate `yaml:"template"`
}

type podTemplate struct {
	Metadata k8sMeta `yaml:"metadata"`
	Spec     podSpec `yaml:"spec"`
}

type podSpec struct {
	RestartPolicy                 string           `yaml:"restartPolicy"`
	TerminationGracePeriodSeconds *int64           `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               *securityContext `yaml:"securityContext"`
	Containers                    []container      `yaml:"containers"`
	InitContainers                []container      `yaml:"initContainers"`
}

type securityContext struct {
	RunAsNonRoot           *bool  `yaml:"runAsNonRoot"`
	RunAsUser              *int64 `yaml:"runAsUser"`
	ReadOnlyRootFilesystem *bool  `yaml:"readOnlyRootFilesystem"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *secretKeyRef `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	EnvFrom []struct {
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
	LivenessProbe   *probe           `yaml:"livenessProbe"`
	ReadinessProbe  *probe           `yaml:"readinessProbe"`
	SecurityContext *securityContext `yaml:"securityContext"`
}

type secretKeyRef struct {
	Name     string `yaml:"name"`
	Key      string `yaml:"key"`
	Optional bool   `yaml:"optional"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"` // a number or a port name
	} `yaml:"httpGet"`
}

// pod is one pod template of a workload, with the object it belongs to.
type pod struct {
	owner k8sObject
	spec  podSpec
}

// pods are the pod templates of a Deployment, Job or CronJob.
func (o k8sObject) pods() []pod {
	switch o.Kind {
	case "Deployment", "Job":
		return []pod{{o, o.Spec.Template.Spec}}
	case "CronJob":
		return []pod{{o, o.Spec.JobTemplate.Spec.Template.Spec}}
	}
	return nil
}

// loadKubernetes parses every document of every manifest in
// deploy/kubernetes.
func loadKubernetes(t *testing.T) []k8sObject {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root(t), "deploy", "kubernetes", "*.y*ml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no manifests in deploy/kubernetes")
	}
	var objs []k8sObject
	for _, f := range files {
		rel, _ := filepath.Rel(root(t), f)
		docs, err := readDocuments(rel, readFile(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			o, err := decodeObject(d)
			if err != nil {
				t.Fatal(err)
			}
			objs = append(objs, o)
		}
	}
	return objs
}

func decodeObject(d document) (k8sObject, error) {
	o := k8sObject{doc: d}
	if err := d.node.Decode(&o); err != nil {
		return o, fmt.Errorf("%s: %w", d, err)
	}
	if o.APIVersion == "" || o.Kind == "" {
		return o, fmt.Errorf("%s: no apiVersion or kind", d)
	}
	if o.Kind != "Kustomization" && o.Metadata.Name == "" {
		return o, fmt.Errorf("%s: %s without metadata.name", d, o.Kind)
	}
	return o, nil
}

// ---- docker compose ----

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image           string         `yaml:"image"`
	Build           any            `yaml:"build"`
	Entrypoint      stringOrList   `yaml:"entrypoint"`
	Command         stringOrList   `yaml:"command"`
	Environment     environment    `yaml:"environment"`
	Ports           []composePort  `yaml:"ports"`
	DependsOn       dependsOn      `yaml:"depends_on"`
	Restart         string         `yaml:"restart"`
	StopGracePeriod string         `yaml:"stop_grace_period"`
	Healthcheck     *composeHealth `yaml:"healthcheck"`
}

type composeHealth struct {
	Test    stringOrList `yaml:"test"`
	Disable bool         `yaml:"disable"`
}

// stringOrList is compose's "string or list" (command, entrypoint, test).
type stringOrList []string

func (s *stringOrList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = strings.Fields(n.Value) // enough for these files; compose splits like a shell
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

// environment is compose's environment, a map or a list of NAME=VALUE or
// NAME (passed through from the caller's environment; kept as "$NAME").
type environment map[string]string

func (e *environment) UnmarshalYAML(n *yaml.Node) error {
	*e = environment{}
	if n.Kind == yaml.MappingNode {
		var m map[string]*string
		if err := n.Decode(&m); err != nil {
			return err
		}
		for k, v := range m {
			if v == nil {
				(*e)[k] = "$" + k
			} else {
				(*e)[k] = *v
			}
		}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	for _, kv := range l {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			v = "$" + k
		}
		(*e)[k] = v
	}
	return nil
}

// composePort is one published port, short ("127.0.0.1:8080:80") or long
// syntax, reduced to the container's port.
type composePort struct{ target, published string }

func (p *composePort) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		parts := strings.Split(strings.TrimSuffix(strings.TrimSuffix(n.Value, "/tcp"), "/udp"), ":")
		p.target = parts[len(parts)-1]
		if len(parts) > 1 {
			p.published = parts[len(parts)-2]
		}
		return nil
	}
	var long struct {
		Target    int `yaml:"target"`
		Published any `yaml:"published"`
	}
	if err := n.Decode(&long); err != nil {
		return err
	}
	p.target = fmt.Sprint(long.Target)
	if long.Published != nil {
		p.published = fmt.Sprint(long.Published)
	}
	return nil
}

// dependsOn is compose's depends_on, a list of services or a map of service
// to condition; the list form means service_started.
type dependsOn map[string]string

func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	*d = dependsOn{}
	if n.Kind == yaml.SequenceNode {
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		for _, s := range l {
			(*d)[s] = "service_started"
		}
		return nil
	}
	var m map[string]struct {
		Condition string `yaml:"condition"`
	}
	if err := n.Decode(&m); err != nil {
		return err
	}
	for s, c := range m {
		if c.Condition == "" {
			c.Condition = "service_started"
		}
		(*d)[s] = c.Condition
	}
	return nil
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	docs, err := readDocuments("docker-compose.yml", readFile(t, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 {
		t.Fatalf("docker-compose.yml: %d documents, want 1", len(docs))
	}
	var c composeFile
	if err := docs[0].node.Decode(&c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if len(c.Services) == 0 {
		t.Fatal("docker-compose.yml: no services")
	}
	return c
}

// sortedKeys lists a map's keys in order, for stable messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// report fails t with every problem found, one per line.
func report(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Error(p)
	}
}
