package deploy

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// passThrough matches a compose value taken from the caller's environment.
var passThrough = regexp.MustCompile(`^\$\{?OPENAI_API_KEY(:?-)?\}?$`)

// checkCompose lists what is wrong with docker-compose.yml: a pgvector
// database with a healthcheck, a one-shot migrate once it is healthy, and
// schedule once migrate has succeeded, serving /healthz where it is
// published.
func checkCompose(c composeFile, img image) []string {
	var problems []string
	var db string
	runs := map[string][]string{} // relator services → their arguments
	for _, name := range sortedKeys(c.Services) {
		s := c.Services[name]
		if strings.HasPrefix(s.Image, pgvectorRepo+":") {
			db = name
			if s.Healthcheck == nil || !strings.Contains(strings.Join(s.Healthcheck.Test, " "), "pg_isready") {
				problems = append(problems, fmt.Sprintf("compose %s: no pg_isready healthcheck", name))
			}
			continue
		}
		if s.Image != relatorImage {
			problems = append(problems, fmt.Sprintf("compose %s: image %q, want %q (or %s:… for the database)", name, s.Image, relatorImage, pgvectorRepo))
			continue
		}
		if ctx := buildContext(s.Build); ctx != "." {
			problems = append(problems, fmt.Sprintf("compose %s: build context %q, want . (the Dockerfile beside it)", name, ctx))
		}
		argv, err := argvFor(img, s.Entrypoint, s.Command)
		if err != nil {
			problems = append(problems, fmt.Sprintf("compose %s: %v", name, err))
			continue
		}
		runs[name] = argv
	}
	if db == "" {
		return append(problems, "compose: no "+pgvectorRepo+" service")
	}
	var migrate, schedule string
	for name, argv := range runs {
		s := c.Services[name]
		switch argv[0] {
		case "migrate":
			migrate = name
			if s.DependsOn[db] != "service_healthy" {
				problems = append(problems, fmt.Sprintf("compose %s: depends on %s %q, want service_healthy", name, db, s.DependsOn[db]))
			}
			if s.Restart != "" && s.Restart != "no" {
				problems = append(problems, fmt.Sprintf("compose %s: restart %q: a one-shot must not restart", name, s.Restart))
			}
		case "schedule":
			schedule = name
		}
		if u, err := url.Parse(s.Environment["DATABASE_URL"]); err != nil || u.Hostname() != db {
			problems = append(problems, fmt.Sprintf("compose %s: DATABASE_URL %q does not name the %s service", name, s.Environment["DATABASE_URL"], db))
		}
		if v, ok := s.Environment["OPENAI_API_KEY"]; !ok || !passThrough.MatchString(v) {
			problems = append(problems, fmt.Sprintf("compose %s: OPENAI_API_KEY %q is not passed through from the environment", name, v))
		}
		if h := s.Healthcheck; h != nil && !h.Disable && (len(h.Test) < 2 || h.Test[0] != "CMD" || path.Base(h.Test[1]) != "relator") {
			problems = append(problems, fmt.Sprintf("compose %s: healthcheck %q: the image has only relator, no shell, curl or wget", name, h.Test))
		}
	}
	if migrate == "" || schedule == "" {
		return append(problems, fmt.Sprintf("compose: want a migrate and a schedule service, have %v", runs))
	}
	s := c.Services[schedule]
	if s.DependsOn[migrate] != "service_completed_successfully" {
		problems = append(problems, fmt.Sprintf("compose %s: depends on %s %q, want service_completed_successfully", schedule, migrate, s.DependsOn[migrate]))
	}
	v, set := s.Environment["RELATOR_HTTP_ADDR"]
	if port, err := httpPort(v, set); err != nil {
		problems = append(problems, fmt.Sprintf("compose %s: %v", schedule, err))
	} else {
		published := false
		for _, p := range s.Ports {
			published = published || p.target == fmt.Sprint(port)
		}
		if !published {
			problems = append(problems, fmt.Sprintf("compose %s: port %d (RELATOR_HTTP_ADDR) is not published", schedule, port))
		}
	}
	g, err := grace(s.Environment["RELATOR_GRACE_PERIOD"], s.Environment["RELATOR_GRACE_PERIOD"] != "")
	if err != nil {
		problems = append(problems, fmt.Sprintf("compose %s: RELATOR_GRACE_PERIOD: %v", schedule, err))
	}
	stop := 10 * time.Second // compose's default
	if s.StopGracePeriod != "" {
		if stop, err = time.ParseDuration(s.StopGracePeriod); err != nil {
			problems = append(problems, fmt.Sprintf("compose %s: stop_grace_period: %v", schedule, err))
		}
	}
	if stop <= g {
		problems = append(problems, fmt.Sprintf("compose %s: stop_grace_period %v is not longer than relator's grace period %v", schedule, stop, g))
	}
	return problems
}

// buildContext is a service's build context: `build: DIR` or
// `build: {context: DIR}`.
func buildContext(b any) string {
	switch b := b.(type) {
	case string:
		return b
	case map[string]any:
		if c, ok := b["context"].(string); ok {
			return c
		}
	}
	return ""
}

func TestCompose(t *testing.T) {
	img, err := loadDockerfile(t).final()
	if err != nil {
		t.Fatal(err)
	}
	report(t, checkCompose(loadCompose(t), img))
}

// TestComposeChecks shows that checkCompose catches what it is for.
func TestComposeChecks(t *testing.T) {
	const bad = `
x-relator: &relator
  image: ghcr.io/relator/relator:latest
  build: .
  environment: &env
    DATABASE_URL: postgres://relator@localhost/relator
    OPENAI_API_KEY: sk-in-the-file
services:
  db:
    image: pgvector/pgvector:pg17
    healthcheck: {test: ["CMD", "true"]}
  migrate:
    <<: *relator
    command: migrate
    restart: always
    depends_on: [db]
  schedule:
    <<: *relator
    command: ["schedule"]
    environment:
      <<: *env
      RELATOR_HTTP_ADDR: ":8080"
    ports: ["9090:9090"]
    depends_on: {migrate: {condition: service_started}}
    healthcheck: {test: ["CMD", "curl", "-f", "http://localhost:8080/healthz"]}
  web:
    image: nginx
`
	var c composeFile
	if err := yaml.Unmarshal([]byte(bad), &c); err != nil {
		t.Fatal(err)
	}
	img := image{entrypoint: []string{"/usr/local/bin/relator"}, cmd: []string{"schedule"}}
	got := strings.Join(checkCompose(c, img), "\n")
	for _, want := range []string{
		"compose db: no pg_isready healthcheck",
		`compose web: image "nginx"`,
		`compose migrate: depends on db "service_started", want service_healthy`,
		`compose migrate: restart "always"`,
		`compose migrate: DATABASE_URL "postgres://relator@localhost/relator" does not name the db service`,
		`compose schedule: OPENAI_API_KEY "sk-in-the-file" is not passed through`,
		"compose schedule: healthcheck",
		"want service_completed_successfully",
		"port 8080 (RELATOR_HTTP_ADDR) is not published",
		"stop_grace_period 10s is not longer",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no problem reported about %q; got:\n%s", want, got)
		}
	}
}
