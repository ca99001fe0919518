package deploy

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the CronJob's timeZone, wherever the test runs

	"github.com/robfig/cron/v3"
)

// longRunning are the commands that make model calls and so get a grace
// period on SIGTERM, which the pod's must outlast.
var longRunning = []string{"run", "schedule", "backfill"}

// relatorContainer is one container of a pod with what it runs.
type relatorContainer struct {
	pod
	c    container
	argv []string
}

func (rc relatorContainer) String() string {
	return fmt.Sprintf("%s container %s", rc.owner, rc.c.Name)
}

func (rc relatorContainer) env(name string) (string, bool) {
	for _, e := range rc.c.Env {
		if e.Name == name && e.ValueFrom == nil {
			return e.Value, true
		}
	}
	return "", false
}

// sets reports whether the container gets name, from its env or from all
// the keys of a Secret (envFrom) that has it.
func (rc relatorContainer) sets(name string, secrets map[string]map[string]bool) bool {
	for _, e := range rc.c.Env {
		if e.Name == name {
			return true
		}
	}
	for _, ef := range rc.c.EnvFrom {
		if ef.SecretRef != nil && secrets[ef.SecretRef.Name][name] {
			return true
		}
	}
	return false
}

// containers lists every container of every workload with its command line.
func containers(objs []k8sObject, img image) ([]relatorContainer, []string) {
	var out []relatorContainer
	var problems []string
	for _, o := range objs {
		for _, p := range o.pods() {
			for _, c := range append(slices.Clone(p.spec.InitContainers), p.spec.Containers...) {
				argv, err := argvFor(img, c.Command, c.Args)
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s container %s: %v", o, c.Name, err))
					continue
				}
				out = append(out, relatorContainer{p, c, argv})
			}
		}
	}
	return out, problems
}

// checkPods lists what is wrong with the workloads' pods: the image, the
// user, the filesystem, the database setting, the grace period and, for
// `relator schedule`, the probes.
func checkPods(objs []k8sObject, img image) []string {
	rcs, problems := containers(objs, img)
	for _, rc := range rcs {
		if rc.c.Image != relatorImage {
			problems = append(problems, fmt.Sprintf("%s: image %q, want %q", rc, rc.c.Image, relatorImage))
		}
		pod, ctr := rc.spec.SecurityContext, rc.c.SecurityContext
		if !(ctr != nil && ctr.RunAsNonRoot != nil && *ctr.RunAsNonRoot || pod != nil && pod.RunAsNonRoot != nil && *pod.RunAsNonRoot) {
			problems = append(problems, fmt.Sprintf("%s: securityContext without runAsNonRoot: true", rc))
		}
		for _, sc := range []*securityContext{pod, ctr} {
			if sc != nil && sc.RunAsUser != nil && *sc.RunAsUser == 0 {
				problems = append(problems, fmt.Sprintf("%s: runAsUser 0", rc))
			}
		}
		if ctr == nil || ctr.ReadOnlyRootFilesystem == nil || !*ctr.ReadOnlyRootFilesystem {
			problems = append(problems, fmt.Sprintf("%s: securityContext without readOnlyRootFilesystem: true", rc))
		}
		if !rc.sets("DATABASE_URL", secretKeys(objs)) {
			problems = append(problems, fmt.Sprintf("%s: no DATABASE_URL: relator would look for a database on 127.0.0.1", rc))
		}
		sub := ""
		if len(rc.argv) > 0 {
			sub = rc.argv[0]
		}
		if slices.Contains(longRunning, sub) {
			problems = append(problems, checkGrace(rc)...)
		}
		if sub == "schedule" {
			problems = append(problems, checkProbes(rc)...)
		}
	}
	return problems
}

// grace is the grace period a relator container is given: its
// RELATOR_GRACE_PERIOD or the default.
func grace(value string, set bool) (time.Duration, error) {
	if !set {
		return defaultGrace, nil
	}
	return time.ParseDuration(value)
}

func checkGrace(rc relatorContainer) []string {
	g, err := grace(rc.env("RELATOR_GRACE_PERIOD"))
	if err != nil {
		return []string{fmt.Sprintf("%s: RELATOR_GRACE_PERIOD: %v", rc, err)}
	}
	pod := 30 * time.Second // Kubernetes' default
	if s := rc.spec.TerminationGracePeriodSeconds; s != nil {
		pod = time.Duration(*s) * time.Second
	}
	if pod <= g {
		return []string{fmt.Sprintf("%s: terminationGracePeriodSeconds %v is not longer than relator's grace period %v: in-flight model calls would be killed", rc, pod, g)}
	}
	return nil
}

// httpPort is the port RELATOR_HTTP_ADDR names, or why there is none.
func httpPort(value string, set bool) (int, error) {
	if !set {
		value = defaultHTTPAddr
	}
	if value == "" {
		return 0, fmt.Errorf("RELATOR_HTTP_ADDR is empty: /healthz is disabled")
	}
	_, p, err := net.SplitHostPort(value)
	if err != nil {
		return 0, fmt.Errorf("RELATOR_HTTP_ADDR %q: %w", value, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return 0, fmt.Errorf("RELATOR_HTTP_ADDR %q: port is not a number", value)
	}
	return n, nil
}

func checkProbes(rc relatorContainer) []string {
	port, err := httpPort(rc.env("RELATOR_HTTP_ADDR"))
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", rc, err)}
	}
	var problems []string
	declared := map[string]int{}
	for _, p := range rc.c.Ports {
		declared[p.Name] = p.ContainerPort
		declared[strconv.Itoa(p.ContainerPort)] = p.ContainerPort
	}
	if _, ok := declared[strconv.Itoa(port)]; !ok {
		problems = append(problems, fmt.Sprintf("%s: no containerPort %d (RELATOR_HTTP_ADDR)", rc, port))
	}
	for _, pr := range []struct {
		name string
		p    *probe
	}{{"livenessProbe", rc.c.LivenessProbe}, {"readinessProbe", rc.c.ReadinessProbe}} {
		if pr.p == nil || pr.p.HTTPGet == nil {
			problems = append(problems, fmt.Sprintf("%s: no %s.httpGet", rc, pr.name))
			continue
		}
		if pr.p.HTTPGet.Path != "/healthz" {
			problems = append(problems, fmt.Sprintf("%s: %s path %q, want /healthz", rc, pr.name, pr.p.HTTPGet.Path))
		}
		if got, ok := declared[fmt.Sprint(pr.p.HTTPGet.Port)]; !ok || got != port {
			problems = append(problems, fmt.Sprintf("%s: %s port %v is not %d, where RELATOR_HTTP_ADDR listens", rc, pr.name, pr.p.HTTPGet.Port, port))
		}
	}
	return problems
}

// secretKeys are the keys of every Secret, by the Secret's name.
func secretKeys(objs []k8sObject) map[string]map[string]bool {
	keys := map[string]map[string]bool{}
	for _, o := range objs {
		if o.Kind != "Secret" {
			continue
		}
		keys[o.Metadata.Name] = map[string]bool{}
		for k := range o.Data {
			keys[o.Metadata.Name][k] = true
		}
		for k := range o.StringData {
			keys[o.Metadata.Name][k] = true
		}
	}
	return keys
}

// checkSecrets: every Secret a container reads exists among the manifests,
// with every key read; the example Secret holds both of relator's.
func checkSecrets(objs []k8sObject) []string {
	keys := secretKeys(objs)
	var problems []string
	if len(keys) == 0 {
		problems = append(problems, "no Secret in deploy/kubernetes")
	}
	for name, ks := range keys {
		for _, want := range []string{"DATABASE_URL", "OPENAI_API_KEY"} {
			if !ks[want] {
				problems = append(problems, fmt.Sprintf("Secret %s has no key %s", name, want))
			}
		}
	}
	for _, o := range objs {
		for _, p := range o.pods() {
			for _, c := range append(slices.Clone(p.spec.InitContainers), p.spec.Containers...) {
				for _, e := range c.Env {
					if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
						continue
					}
					ref := e.ValueFrom.SecretKeyRef
					if ks, ok := keys[ref.Name]; !ok {
						problems = append(problems, fmt.Sprintf("%s container %s: %s from Secret %q, which no manifest defines", o, c.Name, e.Name, ref.Name))
					} else if !ks[ref.Key] {
						problems = append(problems, fmt.Sprintf("%s container %s: %s from key %q, which Secret %s lacks", o, c.Name, e.Name, ref.Key, ref.Name))
					}
				}
				for _, ef := range c.EnvFrom {
					if ef.SecretRef != nil && keys[ef.SecretRef.Name] == nil {
						problems = append(problems, fmt.Sprintf("%s container %s: envFrom Secret %q, which no manifest defines", o, c.Name, ef.SecretRef.Name))
					}
				}
			}
		}
	}
	return problems
}

// checkCronJob: a nightly `relator run` at 02:00 that never overlaps
// itself and is stopped before the next night.
func checkCronJob(o k8sObject, img image) []string {
	var problems []string
	spec := o.Spec.Schedule
	if n := len(strings.Fields(spec)); n != 5 {
		problems = append(problems, fmt.Sprintf("%s: schedule %q has %d fields, want 5", o, spec, n))
	}
	period := 24 * time.Hour                       // what the schedule should be; measured below when it parses
	loc, err := time.LoadLocation(o.Spec.TimeZone) // "" is UTC
	if err != nil {
		problems = append(problems, fmt.Sprintf("%s: timeZone: %v", o, err))
		loc = time.UTC
	}
	if sched, err := cron.ParseStandard(spec); err != nil {
		problems = append(problems, fmt.Sprintf("%s: schedule %q: %v", o, spec, err))
	} else {
		first := sched.Next(time.Date(2015, 9, 1, 12, 0, 0, 0, loc))
		period = sched.Next(first).Sub(first)
		if first.Hour() != 2 || first.Minute() != 0 || period != 24*time.Hour {
			problems = append(problems, fmt.Sprintf("%s: schedule %q fires at %s every %v, want 02:00 every night", o, spec, first.Format("15:04"), period))
		}
	}
	if o.Spec.Concurrency != "Forbid" {
		problems = append(problems, fmt.Sprintf("%s: concurrencyPolicy %q, want Forbid", o, o.Spec.Concurrency))
	}
	js := o.Spec.JobTemplate.Spec
	if d := js.ActiveDeadlineSeconds; d == nil || *d <= 0 || time.Duration(*d)*time.Second >= period {
		problems = append(problems, fmt.Sprintf("%s: activeDeadlineSeconds must be set and shorter than the %v between runs", o, period))
	}
	if b := js.BackoffLimit; b == nil || *b < 0 || *b > 5 {
		problems = append(problems, fmt.Sprintf("%s: backoffLimit must be set, 0 to 5", o))
	}
	if rp := js.Template.Spec.RestartPolicy; rp != "Never" && rp != "OnFailure" {
		problems = append(problems, fmt.Sprintf("%s: restartPolicy %q", o, rp))
	}
	rcs, more := containers([]k8sObject{o}, img)
	problems = append(problems, more...)
	for _, rc := range rcs {
		if len(rc.argv) == 0 || rc.argv[0] != "run" {
			problems = append(problems, fmt.Sprintf("%s: runs %q, want relator run", rc, rc.argv))
		}
	}
	return problems
}

// checkScheduleDeployment: `relator schedule`, more than one replica.
func checkScheduleDeployment(o k8sObject, img image) []string {
	var problems []string
	if r := o.Spec.Replicas; r == nil || *r != 2 {
		problems = append(problems, fmt.Sprintf("%s: replicas must be 2 (the advisory lock lets one run each pass; the other stands by)", o))
	}
	rcs, more := containers([]k8sObject{o}, img)
	problems = append(problems, more...)
	if len(rcs) != 1 || len(rcs[0].argv) == 0 || rcs[0].argv[0] != "schedule" {
		problems = append(problems, fmt.Sprintf("%s: want one container running relator schedule", o))
	}
	return problems
}

func kind(objs []k8sObject, k string) []k8sObject {
	var out []k8sObject
	for _, o := range objs {
		if o.Kind == k {
			out = append(out, o)
		}
	}
	return out
}

func TestKubernetes(t *testing.T) {
	objs := loadKubernetes(t)
	img, err := loadDockerfile(t).final()
	if err != nil {
		t.Fatal(err)
	}
	report(t, checkPods(objs, img))
	report(t, checkSecrets(objs))
	for _, k := range []string{"Secret", "CronJob", "Deployment"} {
		if len(kind(objs, k)) != 1 {
			t.Errorf("want one %s in deploy/kubernetes, have %d", k, len(kind(objs, k)))
		}
	}
	for _, o := range kind(objs, "CronJob") {
		report(t, checkCronJob(o, img))
	}
	for _, o := range kind(objs, "Deployment") {
		report(t, checkScheduleDeployment(o, img))
	}
}

// TestKustomization: every resource it lists is a manifest here, and it
// does not deploy the nightly CronJob and the scheduler together.
func TestKustomization(t *testing.T) {
	dir := filepath.Join(root(t), "deploy", "kubernetes")
	objs := loadKubernetes(t)
	ks := kind(objs, "Kustomization")
	if len(ks) == 0 {
		t.Skip("no kustomization.yaml")
	}
	byFile := map[string][]k8sObject{}
	for _, o := range objs {
		byFile[filepath.Base(o.doc.file)] = append(byFile[filepath.Base(o.doc.file)], o)
	}
	for _, k := range ks {
		kinds := map[string]bool{}
		for _, r := range k.Resources {
			if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
				t.Errorf("%s: resource %s: %v", k, r, err)
			}
			for _, o := range byFile[r] {
				kinds[o.Kind] = true
			}
		}
		if kinds["CronJob"] && kinds["Deployment"] {
			t.Errorf("%s lists the CronJob and the Deployment: two schedulers of the same pass", k)
		}
		if !kinds["Secret"] || !(kinds["CronJob"] || kinds["Deployment"]) {
			t.Errorf("%s: want the Secret and a CronJob or Deployment, have %v", k, kinds)
		}
		repo, _, _ := strings.Cut(relatorImage, ":")
		for _, im := range k.Images {
			if im.Name != repo || im.NewName != "" && im.NewName != repo {
				t.Errorf("%s: images entry %+v is not %s", k, im, repo)
			}
		}
	}
}

// TestKubernetesChecks shows that the checks above catch what they are
// for, on a manifest with one mistake of each kind.
func TestKubernetesChecks(t *testing.T) {
	const bad = `
apiVersion: v1
kind: Secret
metadata: {name: relator}
stringData: {DATABASE_URL: "postgres://x"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: relator-schedule}
spec:
  replicas: 1
  template:
    spec:
      terminationGracePeriodSeconds: 30
      containers:
        - name: relator
          image: relator:dev
          args: ["schedule"]
          ports: [{name: http, containerPort: 8080}]
          env:
            - {name: RELATOR_HTTP_ADDR, value: ":9090"}
            - name: OPENAI_API_KEY
              valueFrom: {secretKeyRef: {name: relator, key: OPENAI_KEY}}
          livenessProbe: {httpGet: {path: /health, port: http}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: relator-run}
spec:
  schedule: "0 3 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Always
          securityContext: {runAsNonRoot: true, runAsUser: 0}
          containers:
            - name: relator
              image: ghcr.io/relator/relator:latest
              args: ["serve"]
              envFrom: [{secretRef: {name: other}}]
              securityContext: {readOnlyRootFilesystem: true}
`
	docs, err := readDocuments("bad.yaml", []byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	var objs []k8sObject
	for _, d := range docs {
		o, err := decodeObject(d)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}
	img := image{entrypoint: []string{"/usr/local/bin/relator"}, cmd: []string{"schedule"}}
	var all []string
	all = append(all, checkPods(objs, img)...)
	all = append(all, checkSecrets(objs)...)
	all = append(all, checkScheduleDeployment(objs[1], img)...)
	all = append(all, checkCronJob(objs[2], img)...)
	got := strings.Join(all, "\n")
	for _, want := range []string{
		`image "relator:dev"`,
		"Deployment relator-schedule (bad.yaml#1) container relator: securityContext without runAsNonRoot",
		"runAsUser 0",
		"Deployment relator-schedule (bad.yaml#1) container relator: securityContext without readOnlyRootFilesystem",
		"Deployment relator-schedule (bad.yaml#1) container relator: no DATABASE_URL",
		"terminationGracePeriodSeconds 30s is not longer",
		"no containerPort 9090",
		`livenessProbe path "/health"`,
		"livenessProbe port http is not 9090",
		"no readinessProbe.httpGet",
		"Secret relator has no key OPENAI_API_KEY",
		`from key "OPENAI_KEY"`,
		`envFrom Secret "other"`,
		"replicas must be 2",
		"has 6 fields, want 5",
		"concurrencyPolicy",
		"activeDeadlineSeconds",
		"backoffLimit",
		`restartPolicy "Always"`,
		`runs ["serve"], want relator run`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no problem reported about %q; got:\n%s", want, got)
		}
	}

	// A 5-field spec at the wrong hour is caught too, once parsed.
	objs[2].Spec.Schedule = "0 3 * * *"
	if got := strings.Join(checkCronJob(objs[2], img), "\n"); !strings.Contains(got, "fires at 03:00") {
		t.Errorf("a 03:00 schedule passed: %s", got)
	}
}
