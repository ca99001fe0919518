package migrations

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"

	"github.com/jackc/tern/v2/migrate"
)

// migrationFile is a migration's file name: NNN_name.sql.
var migrationFile = regexp.MustCompile(`^(\d+)_.+\.sql$`)

// placeholderSQL is applied for a migration number that has no file in this
// build. Numbers are handed out to parallel lines of work so that merging
// them never collides, which leaves a branch with gaps until the others are
// merged; tern refuses gaps. A merged tree has none, and then nothing is
// filled in.
const placeholderSQL = "SELECT 1 -- migration number reserved for a change not in this build"

// files lists the embedded migrations by number: names[n-1] is migration
// n's file, "" where this build has none.
func numberedFiles() ([]string, error) {
	entries, err := fs.ReadDir(files, "sql")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		m := migrationFile.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			continue
		}
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 {
			return nil, fmt.Errorf("migration %s: bad number", e.Name())
		}
		for len(names) < n {
			names = append(names, "")
		}
		if names[n-1] != "" {
			return nil, fmt.Errorf("migrations %s and %s share number %d", names[n-1], e.Name(), n)
		}
		names[n-1] = e.Name()
	}
	return names, nil
}

// Load appends the embedded migrations to m in order, with placeholderSQL
// for a missing number: what Migrate applies, for tests that migrate step
// by step.
func Load(m *migrate.Migrator) error {
	names, err := numberedFiles()
	if err != nil {
		return err
	}
	for i, name := range names {
		if name == "" {
			m.AppendMigration(fmt.Sprintf("%03d_reserved.sql", i+1), placeholderSQL, "")
			continue
		}
		sql, err := fs.ReadFile(files, path.Join("sql", name))
		if err != nil {
			return err
		}
		m.AppendMigration(name, string(sql), "")
	}
	return nil
}
