// Package deploy holds no code: it is where the tests of relator's
// deployment files live. They parse the Dockerfile, docker-compose.yml and
// every manifest under deploy/kubernetes, and check them against each other
// and against the relator binary built from this module: every command and
// flag a container runs must be one the binary accepts, every image must be
// relator's (or pgvector's for the database), probes must reach /healthz on
// the port RELATOR_HTTP_ADDR names, secret keys must exist, and grace
// periods must outlast relator's own.
package deploy
