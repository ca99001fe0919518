package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// invocation is one way the deployment files start relator: the command
// line after the binary, and the environment variables set for it.
type invocation struct {
	where string   // file and object, for messages
	argv  []string // relator's arguments: the subcommand first
	env   map[string]string
	// secretEnv are variables taken from Secrets, by name.
	secretEnv map[string]secretKeyRef
}

// subcommand is the relator command an invocation runs.
func (inv invocation) subcommand() string {
	if len(inv.argv) == 0 {
		return ""
	}
	return inv.argv[0]
}

// argvFor resolves what a container runs, Docker's way: entrypoint
// replaces the image's ENTRYPOINT (and then drops its CMD), cmd replaces
// its CMD. It returns relator's arguments, or an error when the program is
// not relator.
func argvFor(img image, entrypoint, cmd []string) ([]string, error) {
	full := img.entrypoint
	rest := img.cmd
	if len(entrypoint) > 0 {
		full, rest = entrypoint, nil
	}
	if len(cmd) > 0 {
		rest = cmd
	}
	full = append(slices.Clone(full), rest...)
	if len(full) == 0 || path.Base(full[0]) != "relator" {
		return nil, fmt.Errorf("runs %q, not relator", full)
	}
	return full[1:], nil
}

// invocations collects every relator command line of the Dockerfile
// (its default), the Kubernetes manifests and docker-compose.yml.
func invocations(t *testing.T) []invocation {
	t.Helper()
	img, err := loadDockerfile(t).final()
	if err != nil {
		t.Fatal(err)
	}
	var invs []invocation
	add := func(where string, entrypoint, cmd []string, env map[string]string, secrets map[string]secretKeyRef) {
		argv, err := argvFor(img, entrypoint, cmd)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			return
		}
		invs = append(invs, invocation{where: where, argv: argv, env: env, secretEnv: secrets})
	}
	add("Dockerfile (default)", nil, nil, nil, nil)
	for _, o := range loadKubernetes(t) {
		for _, p := range o.pods() {
			for _, c := range append(slices.Clone(p.spec.InitContainers), p.spec.Containers...) {
				env, secrets := map[string]string{}, map[string]secretKeyRef{}
				for _, e := range c.Env {
					if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
						secrets[e.Name] = *e.ValueFrom.SecretKeyRef
					} else {
						env[e.Name] = e.Value
					}
				}
				add(fmt.Sprintf("%s container %s", o, c.Name), c.Command, c.Args, env, secrets)
			}
		}
	}
	compose := loadCompose(t)
	for _, name := range sortedKeys(compose.Services) {
		s := compose.Services[name]
		if strings.HasPrefix(s.Image, pgvectorRepo+":") {
			continue
		}
		add("docker-compose.yml service "+name, s.Entrypoint, s.Command, s.Environment, nil)
	}
	if len(invs) < 4 {
		t.Fatalf("only %d relator command lines found", len(invs))
	}
	return invs
}

func goTool(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build relator: %v", err)
	}
	return goBin
}

// buildRelator builds ./cmd/relator as the Dockerfile does and returns the
// binary's path.
func buildRelator(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "relator")
	cmd := exec.Command(goTool(t), "build", "-trimpath", "-o", bin, "./cmd/relator")
	cmd.Dir = root(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/relator: %v\n%s", err, out)
	}
	return bin
}

// help runs `relator ARGS…` and returns its exit code and all its output.
func help(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")} // none of the caller's settings
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), out.String()
	}
	t.Fatalf("relator %s: %v", strings.Join(args, " "), err)
	return 0, ""
}

// flagNames are the flags of a command line: -name, --name, -name=value.
func flagNames(argv []string) []string {
	var names []string
	for _, a := range argv {
		if a == "--" {
			break
		}
		if len(a) > 1 && a[0] == '-' {
			name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			names = append(names, name)
		}
	}
	return names
}

// TestCommandsExist builds relator and checks every command line of the
// deployment files against it: the subcommand exists (`relator CMD -h`
// exits 0), each flag given is one the command lists, the whole command
// line parses (it is run again with -h at the end), and every environment
// variable set for it is a setting the command names in its help.
//
// The commands come from the files, not from a list here: a manifest that
// runs a command this branch's binary lacks fails this test.
func TestCommandsExist(t *testing.T) {
	invs := invocations(t)
	bin := buildRelator(t)
	helps := map[string]string{}
	for _, inv := range invs {
		t.Run(inv.where, func(t *testing.T) {
			sub := inv.subcommand()
			if sub == "" || strings.HasPrefix(sub, "-") {
				t.Fatalf("%s: no relator command in %q", inv.where, inv.argv)
			}
			out, seen := helps[sub]
			if !seen {
				code, o := help(t, bin, sub, "-h")
				if code != 0 {
					t.Fatalf("%s runs `relator %s`, which this binary does not have: `relator %s -h` exited %d:\n%s", inv.where, sub, sub, code, o)
				}
				helps[sub], out = o, o
			}
			for _, name := range flagNames(inv.argv[1:]) {
				if !regexp.MustCompile(`(?m)^\s*--?` + regexp.QuoteMeta(name) + `(\s|=|$)`).MatchString(out) {
					t.Errorf("%s: `relator %s` has no flag -%s (not in its -h)", inv.where, sub, name)
				}
			}
			if code, o := help(t, bin, append(slices.Clone(inv.argv), "-h")...); code != 0 {
				t.Errorf("%s: `relator %s -h` exited %d:\n%s", inv.where, strings.Join(inv.argv, " "), code, o)
			}
			for _, name := range append(sortedKeys(inv.env), sortedKeys(inv.secretEnv)...) {
				if !regexp.MustCompile(`\b` + regexp.QuoteMeta(name) + `\b`).MatchString(out) {
					t.Errorf("%s: sets %s, which `relator %s -h` does not name as a setting", inv.where, name, sub)
				}
			}
		})
	}
}

func TestArgvFor(t *testing.T) {
	img := image{entrypoint: []string{"/usr/local/bin/relator"}, cmd: []string{"schedule"}}
	for _, tc := range []struct {
		entrypoint, cmd []string
		want            string
	}{
		{nil, nil, "schedule"},
		{nil, []string{"run"}, "run"},
		{[]string{"relator"}, []string{"migrate"}, "migrate"},
		{[]string{"relator", "run", "-top-k", "5"}, nil, "run -top-k 5"},
		{[]string{"/bin/sh", "-c"}, []string{"relator run"}, "error"},
	} {
		got, err := argvFor(img, tc.entrypoint, tc.cmd)
		s := strings.Join(got, " ")
		if err != nil {
			s = "error"
		}
		if s != tc.want {
			t.Errorf("argvFor(%q, %q) = %q, want %q", tc.entrypoint, tc.cmd, s, tc.want)
		}
	}
	if got := flagNames([]string{"-spec", "0 2 * * *", "--run-now", "-limit=5", "--", "-x"}); !slices.Equal(got, []string{"spec", "run-now", "limit"}) {
		t.Errorf("flagNames = %q", got)
	}
}
