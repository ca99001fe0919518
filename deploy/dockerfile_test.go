package deploy

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int    // 1-based line of its first line
	cmd  string // upper case: FROM, RUN, …
	args string
}

// stage is one FROM … of a multi-stage build and what follows it.
type stage struct {
	index        int
	image, name  string // name: the AS name, "" if none
	instructions []instruction
}

// dockerfile is a parsed Dockerfile: its stages in order.
type dockerfile struct{ stages []stage }

func parseDockerfile(text string) (dockerfile, error) {
	var df dockerfile
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		first := i + 1
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		for strings.HasSuffix(l, `\`) && i+1 < len(lines) {
			i++
			next := strings.TrimSpace(lines[i])
			if strings.HasPrefix(next, "#") {
				continue
			}
			l = strings.TrimSuffix(l, `\`) + " " + next
		}
		cmd, args, _ := strings.Cut(l, " ")
		in := instruction{line: first, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			for len(f) > 0 && strings.HasPrefix(f[0], "--") { // --platform=…
				f = f[1:]
			}
			if len(f) == 0 {
				return df, fmt.Errorf("line %d: FROM without an image", first)
			}
			st := stage{index: len(df.stages), image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			df.stages = append(df.stages, st)
			continue
		}
		if len(df.stages) == 0 {
			if in.cmd == "ARG" {
				continue
			}
			return df, fmt.Errorf("line %d: %s before FROM", first, in.cmd)
		}
		s := &df.stages[len(df.stages)-1]
		s.instructions = append(s.instructions, in)
	}
	if len(df.stages) == 0 {
		return df, fmt.Errorf("no FROM")
	}
	return df, nil
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instructions {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// last is the stage's last instruction cmd, which is the one in effect.
func (s stage) last(cmd string) (instruction, bool) {
	all := s.all(cmd)
	if len(all) == 0 {
		return instruction{}, false
	}
	return all[len(all)-1], true
}

// execForm parses a JSON-array (exec form) ENTRYPOINT or CMD.
func execForm(in instruction) ([]string, error) {
	var argv []string
	if err := json.Unmarshal([]byte(in.args), &argv); err != nil || len(argv) == 0 {
		return nil, fmt.Errorf("line %d: %s %s is not in exec form (the final image has no shell)", in.line, in.cmd, in.args)
	}
	return argv, nil
}

// image is what the final stage runs by default.
type image struct {
	entrypoint, cmd []string
	user            string // "" when the Dockerfile sets none
	base            string
	exposed         []string
}

// final reads the final stage's ENTRYPOINT, CMD, USER and EXPOSE.
func (df dockerfile) final() (image, error) {
	f := df.stages[len(df.stages)-1]
	img := image{base: f.image}
	if in, ok := f.last("ENTRYPOINT"); ok {
		argv, err := execForm(in)
		if err != nil {
			return img, err
		}
		img.entrypoint = argv
	}
	if in, ok := f.last("CMD"); ok {
		argv, err := execForm(in)
		if err != nil {
			return img, err
		}
		img.cmd = argv
	}
	if in, ok := f.last("USER"); ok {
		img.user = in.args
	}
	for _, in := range f.all("EXPOSE") {
		for _, p := range strings.Fields(in.args) {
			img.exposed = append(img.exposed, strings.TrimSuffix(p, "/tcp"))
		}
	}
	return img, nil
}

var goBuild = regexp.MustCompile(`(^|[;&|]\s*|\s)go build\s`)

// checkDockerfile lists what is wrong with a Dockerfile for relator: it
// must build a static binary in a Go stage and run it from a minimal final
// stage as a non-root user.
func checkDockerfile(df dockerfile) []string {
	var problems []string
	if len(df.stages) < 2 {
		return []string{fmt.Sprintf("Dockerfile: %d stage(s), want a build stage and a final stage", len(df.stages))}
	}
	final := df.stages[len(df.stages)-1]
	var build *stage
	for i := range df.stages[:len(df.stages)-1] {
		if strings.HasPrefix(df.stages[i].image, "golang:1.26") {
			build = &df.stages[i]
		}
	}
	if build == nil {
		return append(problems, "Dockerfile: no build stage FROM golang:1.26…")
	}
	if strings.HasPrefix(final.image, "golang:") {
		problems = append(problems, fmt.Sprintf("Dockerfile: final stage is %s, the whole toolchain", final.image))
	}

	// The go build, static and stripped.
	var run *instruction
	cgoOff := false
	for i, in := range build.instructions {
		if in.cmd == "ENV" && regexp.MustCompile(`(^|\s)CGO_ENABLED[= ]0(\s|$)`).MatchString(in.args) {
			cgoOff = true
		}
		if in.cmd == "RUN" && goBuild.MatchString(" "+in.args) {
			run = &build.instructions[i]
			break
		}
	}
	if run == nil {
		return append(problems, "Dockerfile: the build stage has no RUN … go build")
	}
	if strings.Contains(run.args, "CGO_ENABLED=0") {
		cgoOff = true
	}
	if !cgoOff {
		problems = append(problems, fmt.Sprintf("Dockerfile line %d: go build without CGO_ENABLED=0: the binary would need libc", run.line))
	}
	for _, want := range []string{"-trimpath", "./cmd/relator"} {
		if !strings.Contains(run.args, want) {
			problems = append(problems, fmt.Sprintf("Dockerfile line %d: go build without %s", run.line, want))
		}
	}
	if m := regexp.MustCompile(`-ldflags[= ]["']?([^"']*)`).FindStringSubmatch(run.args); m == nil || !strings.Contains(m[1], "-s") || !strings.Contains(m[1], "-w") {
		problems = append(problems, fmt.Sprintf("Dockerfile line %d: go build without -ldflags='-s -w'", run.line))
	}
	out := ""
	if m := regexp.MustCompile(`\s-o\s+(\S+)`).FindStringSubmatch(run.args); m != nil {
		out = m[1]
	} else {
		problems = append(problems, fmt.Sprintf("Dockerfile line %d: go build without -o", run.line))
	}

	// The final stage runs what the build stage built.
	img, err := df.final()
	if err != nil {
		return append(problems, "Dockerfile: "+err.Error())
	}
	copied := ""
	for _, in := range final.all("COPY") {
		f := strings.Fields(in.args)
		if len(f) < 3 {
			continue
		}
		from := strings.TrimPrefix(f[0], "--from=")
		if from == f[0] || (from != build.name && from != strconv.Itoa(build.index)) {
			continue
		}
		if f[1] == out {
			copied = f[len(f)-1]
			if strings.HasSuffix(copied, "/") {
				copied += path.Base(out)
			}
		}
	}
	switch {
	case copied == "":
		problems = append(problems, fmt.Sprintf("Dockerfile: the final stage does not COPY --from=%s %s", build.name, out))
	case len(img.entrypoint) == 0:
		problems = append(problems, "Dockerfile: the final stage has no ENTRYPOINT")
	case img.entrypoint[0] != copied:
		problems = append(problems, fmt.Sprintf("Dockerfile: ENTRYPOINT %s, but the binary is copied to %s", img.entrypoint[0], copied))
	}

	// A user other than root, by number.
	uid, _, _ := strings.Cut(img.user, ":")
	switch n, err := strconv.Atoi(uid); {
	case img.user == "" && strings.HasSuffix(img.base, ":nonroot"):
	case img.user == "":
		problems = append(problems, "Dockerfile: the final stage sets no USER: it would run as root")
	case err != nil:
		problems = append(problems, fmt.Sprintf("Dockerfile: USER %s is not numeric: Kubernetes' runAsNonRoot cannot verify it", img.user))
	case n == 0:
		problems = append(problems, "Dockerfile: USER is root")
	}
	if _, port, _ := strings.Cut(defaultHTTPAddr, ":"); !contains(img.exposed, port) {
		problems = append(problems, fmt.Sprintf("Dockerfile: EXPOSE %v lacks %s, the default RELATOR_HTTP_ADDR", img.exposed, port))
	}
	return problems
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func loadDockerfile(t *testing.T) dockerfile {
	t.Helper()
	df, err := parseDockerfile(string(readFile(t, "Dockerfile")))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	return df
}

func TestDockerfile(t *testing.T) {
	df := loadDockerfile(t)
	report(t, checkDockerfile(df))
	img, err := df.final()
	if err != nil {
		t.Fatal(err)
	}
	if len(img.cmd) == 0 || img.cmd[0] != "schedule" {
		t.Errorf("Dockerfile: CMD %v, want [schedule]", img.cmd)
	}
}

// TestDockerfileChecks shows that checkDockerfile catches what it is for.
func TestDockerfileChecks(t *testing.T) {
	const good = `FROM golang:1.26-bookworm AS build
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' \
    -o /out/relator ./cmd/relator
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/relator /relator
USER 65532:65532
EXPOSE 9090
ENTRYPOINT ["/relator"]
CMD ["schedule"]
`
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"good", "", "", ""},
		{"one stage", "FROM gcr.io/distroless/static-debian12:nonroot\nCOPY --from=build /out/relator /relator\n", "", "stage(s)"},
		{"cgo", "CGO_ENABLED=0 ", "", "CGO_ENABLED=0"},
		{"not stripped", "-ldflags='-s -w'", "", "-s -w"},
		{"root by name", "USER 65532:65532", "USER root", "not numeric"},
		{"root by number", "USER 65532:65532", "USER 0", "root"},
		{"no user on a root base", "USER 65532:65532\n", "", "no USER"},
		{"shell form", `ENTRYPOINT ["/relator"]`, "ENTRYPOINT /relator", "exec form"},
		{"wrong entrypoint", `ENTRYPOINT ["/relator"]`, `ENTRYPOINT ["/bin/relator"]`, "copied to /relator"},
		{"no expose", "EXPOSE 9090\n", "", "EXPOSE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := good
			if tc.old != "" {
				text = strings.Replace(good, tc.old, tc.new, 1)
			}
			if tc.name == "no user on a root base" {
				text = strings.Replace(text, ":nonroot", ":latest", 1)
			}
			df, err := parseDockerfile(text)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(checkDockerfile(df), "\n")
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("problems %q, want one about %q", got, tc.want)
			}
		})
	}
}

// TestDockerignoreKeepsBuildInputs: every file the build of ./cmd/relator
// reads (go.mod, go.sum, the module's Go and embedded files) must survive
// .dockerignore, or the image build fails or, worse, embeds nothing.
func TestDockerignoreKeepsBuildInputs(t *testing.T) {
	patterns := dockerignore(t, string(readFile(t, ".dockerignore")))
	cmd := exec.Command(goTool(t), "list", "-deps", "-f", `{{if .Module}}{{if .Module.Main}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}{{end}}`, "./cmd/relator")
	cmd.Dir = root(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	inputs := []string{"go.mod", "go.sum"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		dir := strings.TrimPrefix(strings.TrimPrefix(f[0], root(t)), "/")
		for _, name := range f[1:] {
			inputs = append(inputs, path.Join(dir, name))
		}
	}
	if len(inputs) < 10 {
		t.Fatalf("go list found only %v", inputs)
	}
	for _, in := range inputs {
		if p, ok := ignored(patterns, in); ok {
			t.Errorf(".dockerignore: %q excludes %s, which the build needs", p, in)
		}
	}
	for _, want := range []string{".git", ".local"} {
		if _, ok := ignored(patterns, want+"/x"); !ok {
			t.Errorf(".dockerignore: %s is sent to the build", want)
		}
	}
}

// dockerignore reads the patterns of a .dockerignore; it refuses the
// features ignored does not implement (exceptions, **).
func dockerignore(t *testing.T, text string) []string {
	t.Helper()
	var patterns []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "!") || strings.Contains(l, "**") {
			t.Fatalf(".dockerignore: %q: this test does not understand ! or **", l)
		}
		patterns = append(patterns, strings.Trim(path.Clean(l), "/"))
	}
	return patterns
}

// ignored reports the pattern that excludes file (slash-separated, relative
// to the context): one matching the file or a directory above it.
func ignored(patterns []string, file string) (string, bool) {
	for _, p := range patterns {
		for dir := file; dir != "." && dir != "/"; dir = path.Dir(dir) {
			if ok, _ := path.Match(p, dir); ok {
				return p, true
			}
		}
	}
	return "", false
}
